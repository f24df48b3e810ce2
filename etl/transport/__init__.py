"""Where files come from and go to: the Store protocol and its two implementations."""

from __future__ import annotations

from etl.config.settings import LocalStoreSettings, SftpStoreSettings
from etl.transport.base import RemoteFile, Store, safe_relative
from etl.transport.local import LocalStore
from etl.transport.sftp import SftpStore

__all__ = ["LocalStore", "RemoteFile", "SftpStore", "Store", "open_store", "safe_relative"]


def open_store(name: str, settings: LocalStoreSettings | SftpStoreSettings) -> Store:
    """The store for `settings`; an SFTP store connects on first use, not here."""
    if isinstance(settings, LocalStoreSettings):
        return LocalStore(name, settings)
    return SftpStore(name, settings)
