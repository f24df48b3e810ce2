"""What every service of the stand-in answers with, and how a further service plugs in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]


@dataclass
class Answer:
    """One HTTP answer: status, a JSON body, extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


# A service beside Connect (Query, the Order service): (verb, path, query, headers, body) ->
# its answer, or None for a path that is not its own.
Extension = Callable[[str, str, Mapping[str, str], Mapping[str, str], bytes], Answer | None]
