"""The one owner of state on disk: areas, archive, snapshots, spool, ledger, purge."""
