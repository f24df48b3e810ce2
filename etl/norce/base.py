"""The Norce seams: how import calls and Order service calls reach Norce Commerce Connect.

- `Delivery` takes Connect imports (`NorceCall`, etl.entities.calls) to Norce: `FileDelivery`
  writes each to `outbox/norce/<batch>/` exactly as it would be posted (file mode),
  `HttpDelivery` posts each and waits for its import job (http mode).
  Contract suite: tests/norce/test_delivery_contract.py.
- `OrderService` takes the synchronous Order service calls of the documents flow
  (`SendOrderStatus`, `CreateDeliveryNote`, `CreateInvoice`, `CreditPayment`) and answers each
  with an `OrderAnswer`: `FileOrderService` and `HttpOrderService` (etl.norce.order_calls);
  `PartyCodeService` (etl.to_norce.documents.party_codes) serves the buyer-number documents over a
  `Delivery`. Contract suite: tests/norce/test_order_service_contract.py.

Failures are NorceError (etl.errors): NorceUnavailable when Norce gave no clear answer (try
again later), NorceRejected when it refused (this run fails). File mode never hears from Norce,
so it never raises either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from etl.entities.calls import CallResult, NorceCall


class Delivery(Protocol):
    """Sends import calls to Norce, or writes them where a person or a job will send them."""

    def deliver(self, calls: Sequence[NorceCall], batch: str) -> list[CallResult]:
        """Send every call of one batch in order, one result each; NorceError if one fails.

        `batch` names the unit of work (feed and input hash) so a re-run of the same
        input overwrites rather than duplicates in file mode.
        """
        ...


@dataclass(frozen=True)
class OrderCall:
    """One Order service request: its method, its body, a stable name for files and logs."""

    method: str  # relative to .../commerce/connect/4.0/, e.g. "Order/CreateInvoice"
    body: Mapping[str, Any]
    name: str  # e.g. "invoice INV-5566"

    def body_bytes(self) -> bytes:
        """The body as posted: compact JSON, nulls already dropped by the body builders."""
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class OrderAnswer:
    """How Norce took one call."""

    outcome: Literal["sent", "waiting", "refused"]
    message: str = ""
    location: str | None = None  # the URL posted to, or the outbox file written
    status: int | None = None  # the HTTP status of a refusal
    code: str = ""  # the report's error code for a refusal; "" is norce_rejected


class OrderService(Protocol):
    """Sends Order service calls, or writes them where a person or a job will send them."""

    def send(self, call: OrderCall, batch: str) -> OrderAnswer:
        """Send one call; NorceError when there is no clear answer (the call is then in doubt)."""
        ...
