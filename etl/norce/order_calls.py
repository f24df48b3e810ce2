"""The Order service calls of the documents flow: one JSON object each, answered at once.

`Order/SendOrderStatus`, `Order/CreateDeliveryNote`, `Order/CreateInvoice` and
`Order/CreditPayment` (reference sections 12-14) are synchronous: no job to poll. Norce's
answer sorts each call into one of three outcomes:

- sent: 2xx;
- waiting: Norce does not know the order yet (its acknowledgement has not reached Norce, or
  the order is still on its way), or a credit's invoice; tried again on later runs;
- refused: any other refusal of the document itself, with Norce's message for the report.

Anything else (429/5xx/timeouts after retries, a bad token, a wrong URL) raises NorceError:
the run stops and the document stays in doubt, to be looked up before it is sent again.

[I] What real Norce answers for an unknown order is not documented. Taken here: a 400 or
404 whose message says an order (or, for a credit, the credited invoice) is not found
(`NOT_THERE_YET`); the stand-in answers 400 {"Message": "Order not found (...)"} and
"CreditedInvoiceNo ... not found". Check the wording on a playground tenant.

In file mode the call is written to `outbox/norce/<feed>/` exactly as it would be posted,
and counts as sent: there nothing is unknown.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from etl.config.settings import NorceSettings
from etl.errors import NorceRejected
from etl.norce.base import OrderAnswer, OrderCall, OrderService
from etl.norce.bucket_calls import BucketCalls
from etl.norce.client import NorceClient
from etl.personal_data import scrubber_for
from etl.state.atomic import write_atomically

NOT_THERE_YET = re.compile(
    r"\b(?:order|\w*invoice)\w*\b[^.;]*\b"
    r"(?:not found|not be found|does not exist|doesn't exist|is unknown|missing)"
    r"|\b(?:unknown|no such) (?:order|invoice)\b",
    re.IGNORECASE,
)
ALREADY_EXISTS = re.compile(r"already exists|duplicate", re.IGNORECASE)
# Statuses that refuse the document itself. 401/403 (credentials, rights), 404 without an
# unknown-order message (a wrong path) and 405 are the setup's fault, not the document's.
_DOCUMENT_REFUSALS = frozenset({400, 409, 422})
_NOT_THERE_YET_STATUSES = frozenset({400, 404, 409, 422})


# Fields of a delivery note or invoice about the person it goes to (reference sections 13-14).
_PERSONAL_FIELDS = frozenset(
    {
        "DeliveryName", "DeliveryAttention", "DeliveryAddress", "Name", "Attention", "CareOf",
        "AddressLine1", "AddressLine2", "ZipCode", "City", "Region", "Line1", "Line2", "Box",
        "ShippingPhoneNumber", "Email", "Phone",
    }
)  # fmt: skip


def personal_scrubber(body: Mapping[str, Any]) -> Callable[[str], str]:
    """Takes the body's personal values, and whatever else looks personal, out of a text."""
    return scrubber_for(_personal_texts(body))


def _personal_texts(value: object, personal: bool = False) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _personal_texts(inner, personal or key in _PERSONAL_FIELDS)
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from _personal_texts(inner, personal)
    elif personal and isinstance(value, str) and value.strip():
        yield value


def judge(exc: NorceRejected) -> OrderAnswer:
    """A refusal as an answer about the document, or the error again when it is not about it."""
    message = exc.detail or str(exc)
    if exc.status in _NOT_THERE_YET_STATUSES and NOT_THERE_YET.search(message):
        return OrderAnswer("waiting", message, status=exc.status)
    if exc.status in _DOCUMENT_REFUSALS:
        return OrderAnswer("refused", message, status=exc.status)
    raise exc


class HttpOrderService(OrderService):
    """Posts each call to Norce Connect with the client's token and retry rules."""

    def __init__(self, client: NorceClient) -> None:
        self._client = client

    def send(self, call: OrderCall, batch: str) -> OrderAnswer:
        """Post once: only failures that prove Norce never got it are retried (post_json)."""
        try:
            self._client.post_json(call.method, call.body)
        except NorceRejected as exc:
            # Delivery notes and invoices carry names and addresses, which Norce may quote.
            scrub = personal_scrubber(call.body)
            detail = scrub(exc.detail) if exc.detail else exc.detail
            return judge(NorceRejected(scrub(str(exc)), status=exc.status, detail=detail))
        return OrderAnswer("sent", location=self._client.url(call.method))


class FileOrderService(OrderService):
    """Writes `<name>.json` (the body) and `<name>.request.json` (method, path, headers)."""

    def __init__(
        self, outbox: Path, settings: NorceSettings, bucket: BucketCalls | None = None
    ) -> None:
        self.folder = outbox / "norce"
        self.settings = settings
        self.bucket = bucket  # [storage] on S3: every machine's documents in the bucket

    def send(self, call: OrderCall, batch: str) -> OrderAnswer:
        """Write the call; writing it again (a re-run) replaces it with the same bytes."""
        stem = file_stem(call.name)
        request = {
            "method": "POST",
            "path": f"{self.settings.connect_path}/{call.method}",
            "headers": {"Content-Type": "application/json"},
        }
        request_bytes = json.dumps(request, indent=2).encode()
        if self.bucket is not None:
            where = self.bucket.put(batch, stem, call.body_bytes(), request_bytes)
            return OrderAnswer("sent", location=where)
        folder = self.folder / batch
        folder.mkdir(parents=True, exist_ok=True)
        write_atomically(folder / f"{stem}.json", call.body_bytes())
        write_atomically(folder / f"{stem}.request.json", request_bytes)
        return OrderAnswer("sent", location=str(folder / f"{stem}.json"))


def file_stem(name: str) -> str:
    """A file name for a call: its name with unsafe characters replaced.

    Document numbers may hold `/` or spaces; when anything was replaced, a short hash of the
    original keeps two numbers that differ only there from sharing a file.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "call"
    if safe != name:
        safe += "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return safe
