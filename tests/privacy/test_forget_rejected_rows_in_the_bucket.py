"""`forget` finds a person only rejected rows hold in runs archived in the bucket.

With `[storage] backend = "s3"` the runs' folders are objects; the machine asked to forget
(a second home, with no archive of its own) reads the rejected run's input from the bucket
through the customers contract. What the bucket holds is looked at with boto3.
"""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest

from tests.support.privacy_seed import ANNA_ROW, EVA_ROW
from tests.support.s3 import KEY_ID, S3Bucket
from tests.support.s3_homes import KEY_ENV, PREFIX, customers_run, run_py, second_home

ARCHIVE = f"{PREFIX}/archive/customers/"
LONG_PHONE = "040-765 43 21 ankn. 12, kvällar efter klockan sex, annars mobilen"  # over 50
EVA_REJECTED = EVA_ROW.replace("040-765 43 21", LONG_PHONE)
# What only Eva's row holds (not the code: a key, kept).
EVA = ("eva.ek@example.se", LONG_PHONE, "073-999 88 77", "19850101-1234", "Ekvägen 7",
       "Lgh 1102", "211 45", "Malmö")  # fmt: skip


@pytest.fixture(autouse=True)
def _s3_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY_ID)


def _texts(s3_bucket: S3Bucket) -> dict[str, str]:
    """Each archived object of the customers feed as text (a workbook's cells, one a line)."""
    texts = {}
    for key, body in s3_bucket.objects(ARCHIVE).items():
        if key.endswith(".xlsx"):
            book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
            rows = (r for sheet in book.worksheets for r in sheet.iter_rows(values_only=True))
            texts[key] = "\n".join(";".join(str(v) for v in r if v is not None) for r in rows)
        elif not key.endswith(".parquet"):
            try:
                texts[key] = body.decode("utf-8")
            except UnicodeDecodeError:
                texts[key] = body.decode("cp1252")  # the input, as the ERP wrote it
    return texts


def _holding(texts: dict[str, str], values: tuple[str, ...]) -> dict[str, list[str]]:
    return {v: sorted(k.rsplit("/", 1)[1] for k, t in texts.items() if v in t) for v in values}


# The reports' rows name her by code and the cell only: a rejected row's code is no anchor,
# so asked by e-mail they keep the phone; asked by code, they do not.
REPORTS = ["kunder_2_rows.rejected.csv", "kunder_2_rows.rejected.xlsx"]


@pytest.mark.parametrize(
    ("asked", "kept"),
    [(("--email", "eva.ek@example.se"), {LONG_PHONE: REPORTS}), (("--customer", "K-1005"), {})],
)
def test_forget_finds_a_person_rejected_in_a_run_in_the_bucket(
    s3_bucket: S3Bucket,
    home: Path,
    erp_root: Path,
    asked: tuple[str, str],
    kept: dict[str, list[str]],
) -> None:
    customers_run(s3_bucket, home, erp_root, [ANNA_ROW, EVA_REJECTED])
    before = _texts(s3_bucket)
    assert _holding(before, (LONG_PHONE,))[LONG_PHONE] == [
        "kunder_2_rows.csv", "kunder_2_rows.rejected.csv", "kunder_2_rows.rejected.xlsx"
    ]  # fmt: skip
    other = second_home(s3_bucket, home, erp_root)
    assert not (other / "archive").exists()

    code, said = run_py(other, "forget", *asked)

    assert code == 0, said
    after = _texts(s3_bucket)
    assert _holding(after, EVA) == {value: [] for value in EVA} | kept
    (archived,) = [t for k, t in after.items() if k.endswith("/kunder_2_rows.csv")]
    assert ANNA_ROW in archived.split("\r\n")
    assert "K-1005;[erased];[erased];[erased];[erased];[erased];[erased];" in archived
