"""Owner-only files under the working roots, whatever the umask; a local ERP store keeps the user's."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from etl.config.settings import LocalStoreSettings
from etl.state.private_files import WORKING_ROOTS, keep_private
from etl.transport import LocalStore
from tests.support.paths import REPO


def _open_to_others(root: Path) -> list[str]:
    """Every folder or file under `root` that someone other than the owner may read or enter."""
    found = []
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            if stat.S_IMODE(path.lstat().st_mode) & 0o077:
                found.append(f"{oct(stat.S_IMODE(path.lstat().st_mode))} {path.relative_to(root)}")
    return found


def test_once_under_a_permissive_umask_leaves_nothing_readable_by_others(tmp_path: Path) -> None:
    # The embedded default in an empty folder. An earlier run, under umask 022, left its state
    # folder open.
    (tmp_path / "state").mkdir(mode=0o755)
    os.chmod(tmp_path / "state", 0o755)

    done = subprocess.run(
        [sys.executable, str(REPO / "run.py"), "once"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: os.umask(0o022),
    )

    assert done.returncode == 0, done.stderr[-2000:]
    for name in WORKING_ROOTS:
        root = tmp_path / name
        if root.exists():
            assert stat.S_IMODE(root.stat().st_mode) == 0o700, name
            assert _open_to_others(root) == [], name
    assert any((tmp_path / "state").iterdir())
    assert any((tmp_path / "outbox").rglob("*.json"))


def test_a_local_erp_store_gets_the_users_modes_not_ours(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        keep_private(tmp_path)
        store = LocalStore("erp", LocalStoreSettings(root=tmp_path / "erp"))
        (tmp_path / "erp").mkdir()
        source = tmp_path / "order.csv"
        source.write_text("ref;total\n1001;10.00\n")
        store.upload(source, "orders/in/order.csv")
    finally:
        os.umask(previous)

    assert stat.S_IMODE(source.stat().st_mode) == 0o600  # ours: private
    uploaded = tmp_path / "erp/orders/in/order.csv"
    assert stat.S_IMODE(uploaded.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "erp/orders").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "erp/orders/in").stat().st_mode) == 0o755
