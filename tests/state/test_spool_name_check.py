"""A spool name is checked with string tests; pinned to the Path-based rule it replaced."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etl.state.spool_base import check_spool_name

NAME_PARTS = st.sampled_from(["a", "b.json", ".", "..", "/", "\\", "x.xml", "é", " ", "\0", "-"])


def _path_rule(name: str) -> bool:
    """The rule as it was written with pathlib: a bare name, not hidden, no backslash."""
    return bool(name) and Path(name).name == name and not name.startswith(".") and "\\" not in name


@given(st.lists(NAME_PARTS, max_size=6).map("".join) | st.text(max_size=12))
def test_a_name_passes_exactly_when_the_path_rule_passes_it(name: str) -> None:
    try:
        check_spool_name(name)
    except ValueError:
        assert not _path_rule(name)
    else:
        assert _path_rule(name)


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a/", "/a", ".hidden.json", "a\\b"])
def test_folders_hidden_and_empty_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not a spool file name"):
        check_spool_name(name)
