"""Norce Connect's import service: the `Import*` methods, `Job/Get` and `Job/GetLog` under
`/commerce/connect/4.0/` (reference sections 2-8). Imports that break the contract are a 400
saying why; accepted ones are recorded and applied to the state as their job plans say."""

from __future__ import annotations

from collections.abc import Mapping

from tests.support.norce.answers import Answer
from tests.support.norce.auth import Tokens
from tests.support.norce.contract import IMPORTS, ContractError, check_body, check_header
from tests.support.norce.jobs import Jobs, RecordedCall
from tests.support.norce.records import Applied
from tests.support.norce.state import NorceState

CONNECT_PATH = "/commerce/connect/4.0"
JOB_METHODS = ("Job/Get", "Job/GetLog")


class Connect:
    """The import service over one state: what it accepted, and its jobs."""

    def __init__(self, state: NorceState, tokens: Tokens, jobs: Jobs) -> None:
        self.state, self.tokens, self.jobs = state, tokens, jobs
        self.calls: list[RecordedCall] = []

    def answer(
        self,
        verb: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Answer:
        """Answer a request to Connect; 404 for a path Connect does not have."""
        method = path.removeprefix(CONNECT_PATH + "/")
        if not path.startswith(CONNECT_PATH + "/") or (
            method not in IMPORTS and method not in JOB_METHODS
        ):
            return Answer(404, {"Message": f"no such endpoint {verb} {path}"})
        if not self.tokens.authorized(headers):
            return Answer(401, {"Message": "missing or invalid bearer token"},
                           {"WWW-Authenticate": "Bearer"})  # fmt: skip
        expected = "POST" if method in IMPORTS else "GET"
        if verb != expected:
            return Answer(405, {"Message": f"{method} takes {expected}"})
        if method in IMPORTS:
            return self._import(method, headers, body)
        job = self.jobs.jobs.get(int(query["id"])) if query.get("id", "").isdigit() else None
        if job is None:
            return Answer(404, {"Message": f"no job {query.get('id')!r}"})
        return self.jobs.get(job) if method == "Job/Get" else Answer(200, self.jobs.log(job))

    def _import(self, method: str, headers: Mapping[str, str], body: bytes) -> Answer:
        try:
            if not headers.get("content-type", "").startswith("application/json"):
                raise ContractError("Content-Type must be application/json")
            header = check_header(method, headers.get("x-stormconnect-header"))
            items = check_body(method, body)
        except ContractError as exc:
            return Answer(400, {"Message": str(exc)})
        plan = self.jobs.take_plan()
        applied = self.state.apply(method, header, items) if plan.status_id == 2 else Applied()
        job = self.jobs.new(len(items), applied, plan)
        self.calls.append(RecordedCall(method, header, items, str(job.job_id), dict(headers)))
        summary = {
            "NrOfItemsInTotal": len(items),
            "NrOfValidationFailures": len(plan.validation_messages),
            "Messages": list(plan.validation_messages),
        }
        return Answer(200, {"StatusCode": "OK", "Description": "Import queued",
                             "JobId": str(job.job_id), "ValidationSummary": summary})  # fmt: skip
