"""Moving a one-VM home's state over to the scale-out backends (`run.py migrate-state`).

The SQLite ledger goes into PostgreSQL (ledger_copy.py, verified by checksums.py); the
archive, snapshots, spool and outbox folders go into the bucket under their home-relative
paths (folders.py), with the marks that publish archive runs and Norce batches (marks.py).
Nothing moves while a process holds the home (home_in_use.py, refused.py). move.py puts the
steps in their order.
"""
