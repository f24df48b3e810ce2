"""Retention beyond `archive/`: every other place personal data rests, reduced past its time.

`run.py purge` calls these after the archive: removed people's snapshot rows, spooled order
and party bodies, the document book's bodies, `outbox/checks/` and file-mode `outbox/norce/`.
Each returns a `Place` summary; none of them touches what is still within its retention.
"""
