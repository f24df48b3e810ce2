"""The ledger: one SQLite file, its connection, its migrations, one module per table set."""
