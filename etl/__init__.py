"""ERP <-> Norce Commerce batch integration."""

import os

# polars' allocator (jemalloc) keeps freed pages for ten seconds before giving them back, so
# a run's peak held the garbage of the stages before it: at 1M rows 100-180 MB of the peak,
# ten times that at 10M. One second keeps the pages a stage reuses at once (returning them
# at once, 0 ms, cost 20% more CPU in page faults) and gives back what an earlier stage
# left. jemalloc reads this when polars loads, so it is set here, before any module of ours
# imports polars; an operator's own setting wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:1000,muzzy_decay_ms:0")
