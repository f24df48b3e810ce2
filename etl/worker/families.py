"""The lock each job takes in the task queue: a file family for feed jobs, its name otherwise.

A scheduled feed job runs the feeds its feed references first (etl.config.run_order's
`runs_with`: the contacts job runs the companies feed, then the contacts feed), and a feed
read through `from_feed` runs inside its parent's run. So two jobs that run one feed between
them must never run at the same moment: the feeds that any job runs together are one
family, joined across jobs (the companies job and the contacts job share the companies
feed, so they share a family), and each family is one procrastinate `lock`. Every other job
(the order poll, an export, the purge) is its own family: never two runs of it at once.
"""

from __future__ import annotations

from etl.config.contracts import FeedContract
from etl.config.run_order import order_of_runs, runs_with

FEEDS_PREFIX = "feeds:"
JOB_PREFIX = "job:"


def feed_families(contracts: dict[str, FeedContract]) -> dict[str, str]:
    """Feed job name (the feed that picks up files) -> its family's lock."""
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    for contract in order_of_runs(contracts):
        together = [c.name for c in runs_with(contract, contracts)]
        for name in together:
            parent[root(name)] = root(together[0])
    members: dict[str, list[str]] = {}
    for name in parent:
        members.setdefault(root(name), []).append(name)
    return {name: FEEDS_PREFIX + "+".join(sorted(members[root(name)])) for name in parent}


def lock_of(job_name: str, families: dict[str, str]) -> str:
    """The lock of a job: its feed family, or the job's own name."""
    return families.get(job_name, JOB_PREFIX + job_name)
