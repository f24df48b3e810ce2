"""Why a move of state was refused before anything was written."""

from __future__ import annotations

from etl.errors import EtlError


class MoveRefused(EtlError):
    """The move cannot start (the home is in use, the target holds other rows): nothing moved."""
