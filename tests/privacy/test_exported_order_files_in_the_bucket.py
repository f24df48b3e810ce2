"""`forget` on the order files the ERP got, archived in the bucket (`[storage] backend = "s3"`).

The same masking as on the disk (tests/privacy/test_exported_order_files.py), on the copies
in object storage: a real export of two orders (both shipped layouts) with the spool and the
archive in the test bucket, then the buyer of one forgotten. What is stored is read back
with boto3 (tests.support.s3), never through our code.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from lxml import etree

from etl.config.settings import Settings
from etl.runtime import Runtime
from etl.to_erp.files.layouts import load_layouts
from etl.to_erp.orders.book import OrderBook
from etl.to_erp.orders.jobs import export_once
from tests.support.paths import SCHEMAS
from tests.support.privacy_order_bodies import HEDVIG, HEDVIG_FOLDED, TORA, body, left, values
from tests.support.privacy_seed import AT
from tests.support.s3 import KEY_ID, S3Bucket
from tests.support.s3_homes import KEY_ENV, PREFIX, run_py, s3_config, s3_settings

EXPORTED = f"{PREFIX}/archive/orders/exported/"


@pytest.fixture(autouse=True)
def _s3_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY_ID)


def _writable_erp(s3_bucket: S3Bucket, home: Path, erp_root: Path) -> Settings:
    """`s3_config`'s home with the shipped order layouts and an ERP folder they may write to."""
    shutil.copytree(SCHEMAS, home / "schemas")
    config = s3_config(s3_bucket, home, erp_root)
    config.write_text(
        config.read_text(encoding="utf-8").replace("read_only = true\n", ""), encoding="utf-8"
    )
    erp_root.mkdir(parents=True, exist_ok=True)
    return s3_settings(home)


def _export_both(settings: Settings) -> None:
    """Hedvig's and Tora's orders, received and exported in every shipped order layout."""
    rt = Runtime.open(settings)
    book = OrderBook(rt.ledger.at)
    try:
        spool = rt.spool("orders")
        for ref, who in (("8101", HEDVIG), ("8102", TORA)):
            spooled = spool.put(ref, body(ref, who), "json")
            book.receive(ref, spooled.sha256, spooled.name, "json", "push", AT)
        for layout in load_layouts(settings).values():
            export_once(rt, layout)
    finally:
        book.close()
        rt.close()


def _stored(s3_bucket: S3Bucket) -> dict[str, str]:
    """Each exported order file in the bucket as text, by its layout and name."""
    encodings = {"erp_csv": "cp1252", "peppol_order": "utf-8"}
    texts = {}
    for key, raw in s3_bucket.objects(EXPORTED).items():
        layout, name = key.removeprefix(EXPORTED).split("/")[0], key.rsplit("/", 1)[-1]
        if re.search(r"\.(csv|xml)$", name):
            texts[f"{layout}/{name}"] = raw.decode(encodings[layout])
    return texts


def test_forget_masks_the_buyer_in_the_order_files_archived_in_the_bucket(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    _export_both(_writable_erp(s3_bucket, home, tmp_path / "erp"))
    before = _stored(s3_bucket)
    assert {n.split("/")[0] for n in before} == {"erp_csv", "peppol_order"}
    assert not list((home / "archive/orders/exported").rglob("*.xml"))  # only in the bucket
    assert left(before, values(HEDVIG))  # the premise: her values are there

    code, printed = run_py(home, "forget", "--email", HEDVIG["Email"])

    assert code == 0, printed
    after = _stored(s3_bucket)
    assert left(after, [*values(HEDVIG), *HEDVIG_FOLDED]) == {}
    assert left(after, values(TORA)) == left(before, values(TORA))
    for name, text in after.items():
        if name.endswith(".xml"):
            etree.fromstring(text.encode("utf-8"))
