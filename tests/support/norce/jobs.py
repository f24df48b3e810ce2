"""Connect's jobs: every accepted import is a job that `Job/Get` and `Job/GetLog` report on
(reference section 2); tests shape how the next jobs end."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from tests.support.norce.answers import Answer, Json
from tests.support.norce.records import Applied


@dataclass
class RecordedCall:
    """One accepted import as the stand-in received it."""

    method: str
    header: Json
    items: list[Json]
    job_id: str
    http_headers: dict[str, str]  # lower-cased names


@dataclass
class Job:
    """One import job: its counts as Norce reports them, its log, how often it was polled."""

    job_id: int
    totals: int
    inserts: int
    updates: int
    status_id: int
    fail: int
    log: list[Json]
    polls: int = 0


@dataclass
class JobPlan:
    """How the next `remaining` jobs end: StatusId, log messages, validation messages."""

    remaining: int
    status_id: int
    messages: tuple[str, ...]
    severity: int
    validation_messages: tuple[str, ...]


@dataclass
class Jobs:
    """The jobs Norce has, the plans for the next ones, and how `Job/Get` spells them."""

    polls_before_finish: int = 1
    insert_key: str = "Insert"  # the docs' spelling; set to "Inserts" for the C# one
    plans: list[JobPlan] = field(default_factory=list)
    jobs: dict[int, Job] = field(default_factory=dict)
    next_job_id: int = 4711

    def plan(
        self,
        count: int,
        status_id: int,
        messages: Sequence[str],
        severity: int,
        validation_messages: Sequence[str],
    ) -> None:
        """Shape the next `count` jobs (see NorceStandin.finish_next_jobs)."""
        self.plans.append(
            JobPlan(count, status_id, tuple(messages), severity, tuple(validation_messages))
        )

    def take_plan(self) -> JobPlan:
        """The plan for the job about to start: the first one left, else a plain success."""
        plan = next((p for p in self.plans if p.remaining > 0), None)
        if plan is None:
            return JobPlan(1, 2, (), 3, ())
        plan.remaining -= 1
        return plan

    def new(self, totals: int, applied: Applied, plan: JobPlan) -> Job:
        """Start a job for an import of `totals` items that did what `applied` says."""
        # Items Norce could not import leave the job Succeeded with Fail > 0 (reference 2).
        self.next_job_id += 1
        entries = [log_entry(plan.severity, m, f"row {n}") for n, m in enumerate(plan.messages)]
        entries += [log_entry(3, message, row(item)) for message, item in applied.failures]
        log = [log_entry(1, "Starting import."), *entries, log_entry(1, "Import finished.")]
        fail = len(plan.messages) + len(applied.failures) if plan.status_id == 2 else totals
        job = Job(
            self.next_job_id, totals, applied.inserts, applied.updates, plan.status_id, fail, log
        )
        self.jobs[job.job_id] = job
        return job

    def get(self, job: Job) -> Answer:
        """`Job/Get`: running until polled `polls_before_finish` times, then its outcome."""
        job.polls += 1
        done = job.polls > self.polls_before_finish
        return Answer(200, {
            "JobId": job.job_id, "StatusId": job.status_id if done else 1, "IsFinished": done,
            "Totals": job.totals, self.insert_key: job.inserts if done else 0,
            "Updates": job.updates if done else 0, "Fail": job.fail if done else 0,
            "Start": "2026-01-01T00:00:00", "Stop": "2026-01-01T00:00:01" if done else None,
            "RunTime": "00:00:01" if done else None,
        })  # fmt: skip

    def log(self, job: Job) -> list[Json]:
        """`Job/GetLog`: the whole log once the job is finished, its first line before."""
        return copy.deepcopy(job.log) if job.polls > self.polls_before_finish else job.log[:1]


def row(item: Json) -> str:
    """An item as the log's ImportedRow shows it."""
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False)


def log_entry(severity: int, message: str, row: str | None = None) -> Json:
    """One line of a job's log."""
    return {"SeverityId": severity, "Message": message, "TimeStamp": "2026-01-01T00:00:00",
            "ImportedRow": row}  # fmt: skip
