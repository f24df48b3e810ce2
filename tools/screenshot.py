"""Take a screenshot of the console page for the README, with headless Chromium.

    .venv/bin/python tools/screenshot.py [--out docs/console.png] [--home DIR]

Makes a demo home (a temporary folder unless --home), runs `once` there on the embedded
samples, starts `run.py receive` with the console on, and has Chromium load the page and
save a PNG. Chromium is looked for as /usr/bin/chromium, chromium or chromium-browser on
PATH; without it the script says so and exits 3 (on Debian: `apt-get install chromium`).
"""

from __future__ import annotations

import argparse
import base64
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from etl.embedded import SCHEMAS

REPO = Path(__file__).resolve().parent.parent
RUN = [sys.executable, str(REPO / "run.py")]
CHROMIUMS = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
# Flags for a quiet, reproducible headless run: no network of its own, no profile left behind.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
USER = "operator"
NO_CHROMIUM = 3


def find_chromium(names: tuple[str, ...] = CHROMIUMS) -> str | None:
    """The Chromium executable, or None when none is installed."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    """A free loopback port (the receiver binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_home(home: Path, port: int, password: str) -> Path:
    """A home with a settings file (console on) where `once` ran on the samples."""
    home.mkdir(parents=True, exist_ok=True)
    secret = home / "console.secret"
    secret.write_text(password)
    secret.chmod(0o600)
    config = home / "etl.toml"
    # The embedded contracts and samples (no [stores]); a secret file's path is taken as
    # written, so it is absolute here.
    config.write_text(
        f'schemas_dir = "{SCHEMAS}"\n\n[receiver]\nport = {port}\npassword_file = "{secret}"\n\n'
        f'[receiver.console]\npassword_file = "{secret}"\nmetrics = true\n'
    )
    subprocess.run([*RUN, "--config", str(config), "once"], check=True, capture_output=True)
    return config


@contextmanager
def receiver(config: Path, port: int) -> Iterator[None]:
    """`run.py receive` until the block ends; waits until it answers."""
    process = subprocess.Popen(
        [*RUN, "--config", str(config), "receive"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/console", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the receiver did not start") from None
                time.sleep(0.2)
        yield
    finally:
        process.terminate()
        process.wait(timeout=15)


def screenshot(chromium: str, html: Path, out: Path, size: str) -> None:
    """Have Chromium render `html` (the page as served) and write `out`."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--screenshot={out}",
                f"--window-size={size}",
                html.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def main(argv: list[str] | None = None) -> int:
    """Make the demo, serve it, take the screenshot; 3 when Chromium is not installed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "console.png")
    parser.add_argument("--home", type=Path, help="demo home (default: a temporary folder)")
    parser.add_argument("--size", default="1040,1120", help="window WIDTH,HEIGHT in pixels")
    parser.add_argument("--chromium", help="the browser to use (default: the first found)")
    args = parser.parse_args(argv)
    chromium = find_chromium((args.chromium,) if args.chromium else CHROMIUMS)
    if chromium is None:
        tried = args.chromium or ", ".join(CHROMIUMS)
        print(
            f"Chromium is not installed ({tried}: not found; on Debian: apt-get install "
            "chromium); no screenshot taken"
        )
        return NO_CHROMIUM
    with tempfile.TemporaryDirectory() as scratch:
        home = args.home or Path(scratch) / "home"
        port, password = free_port(), secrets.token_urlsafe(16)
        config = demo_home(home, port, password)
        with receiver(config, port):
            page = fetch_page(port, password)
        # The page is saved as served and loaded from the file: Chromium's --screenshot
        # cannot send Basic credentials, and the page needs nothing else (inline style).
        html = Path(scratch) / "console.html"
        html.write_bytes(page)
        screenshot(chromium, html, args.out.resolve(), args.size)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


def fetch_page(port: int, password: str) -> bytes:
    """The console page as the receiver serves it."""
    token = base64.b64encode(f"{USER}:{password}".encode()).decode()
    answer = httpx.get(
        f"http://127.0.0.1:{port}/console",
        headers={"Authorization": f"Basic {token}"},
        timeout=30,
    )
    answer.raise_for_status()
    return answer.content


if __name__ == "__main__":
    sys.exit(main())
