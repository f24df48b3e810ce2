"""Property: valid rows are exactly the clean ones; rejected keys exactly those of the others."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from etl.models import LINE
from tests.fixtures.feeds import check, price_contract

# How a row goes wrong: (cell to replace, bad text, the code expected for it).
DEFECTS = {
    "currency": (3, "sek", "pattern"),
    "zero price": (4, "0", "range"),
    "rounding": (4, "1,00001", "type"),
    "word": (4, "tio", "type"),
    "negative cost": (5, "-1", "range"),
    "empty list": (1, "", "required"),
}

rows = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C", "D", "E", "F"]),  # part_no: small pool, duplicates happen
        st.sampled_from([None, *DEFECTS]),
    ),
    min_size=1,
    max_size=10,
)


@settings(max_examples=30, deadline=None)
@given(rows=rows)
def test_valid_and_rejected_split_the_rows(rows: list[tuple[str, str | None]]) -> None:
    lines = ["ItemNo;PriceList;Qty;Currency;Price;Cost"]
    for part_no, defect in rows:
        cells = [part_no, "L", "1", "SEK", "9,5", "1"]
        if defect:
            index, text, _ = DEFECTS[defect]
            cells[index] = text
        lines.append(";".join(cells))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "p.csv").write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
        contract = price_contract(folder, 'encoding = "cp1252"\ndelimiter = ";"\ndecimal = ","')
        validated = check(folder / "p.csv", contract, folder / "scratch")

    # The key is (part_no, list, 1); an empty list leaves a key that can be read only in part.
    keyed = [(p, d) for p, d in rows if d != "empty list"]
    counts = {p: sum(1 for q, _ in keyed if q == p) for p, _ in keyed}
    clean = [(n, p) for n, (p, d) in enumerate(rows, start=2) if d is None and counts[p] == 1]
    assert validated.valid.select(LINE, "part_no").rows() == clean
    rejected = {(p, "L", 1) for p, d in keyed if d is not None or counts[p] > 1}
    # A row with an empty list keeps the parts of its key that could be read.
    rejected |= {(p, None, 1) for p, d in rows if d == "empty list"}
    assert set(validated.rejected_keys.drop(LINE).rows()) == rejected
    expected_codes = {(n, DEFECTS[d][2]) for n, (_, d) in enumerate(rows, start=2) if d}
    expected_codes |= {
        (n, "duplicate_key")
        for n, (p, d) in enumerate(rows, start=2)
        if d != "empty list" and counts[p] > 1
    }
    assert set(validated.rejections.select("line", "code").rows()) == expected_codes
    assert validated.rows_read == len(rows)
