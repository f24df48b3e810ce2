"""Where files come from and go to: the Store protocol and its two implementations."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from etl.config.settings import LocalStoreSettings, SftpStoreSettings
from etl.transport.base import RemoteFile, Store, safe_relative
from etl.transport.local import LocalStore

if TYPE_CHECKING:
    from etl.transport.sftp import SftpStore

__all__ = ["LocalStore", "RemoteFile", "SftpStore", "Store", "open_store", "safe_relative"]


def open_store(name: str, settings: LocalStoreSettings | SftpStoreSettings) -> Store:
    """The store for `settings`; an SFTP store connects on first use, not here."""
    if isinstance(settings, LocalStoreSettings):
        return LocalStore(name, settings)
    sftp_store: type[SftpStore] = __getattr__("SftpStore")
    return sftp_store(name, settings)


def __getattr__(name: str) -> Any:
    """`SftpStore`, imported when first asked for (PEP 562): paramiko, with invoke and
    cryptography, is a fifth of a second of every start, and only an SFTP store needs it."""
    if name == "SftpStore":
        return importlib.import_module("etl.transport.sftp").SftpStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
