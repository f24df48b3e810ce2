"""Two reads of one file held to the same result, field by field of `Validated`."""

from __future__ import annotations

from polars.testing import assert_frame_equal

from etl.models import Validated


def assert_same_validated(left: Validated, right: Validated) -> None:
    """Every frame and count of `left` equals `right`'s (dtypes and column order included)."""
    for name in ("valid", "rejections", "rejected_keys", "forgiven", "copies"):
        assert_frame_equal(getattr(left, name), getattr(right, name))
    for name in ("rows_read", "parts", "unkeyed_lines", "merged"):
        assert getattr(left, name) == getattr(right, name)
