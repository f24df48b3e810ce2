"""One document's way to Norce: decide from the book, send at most once, record the answer.

Every call is two-phase: the book says `sending` before the call and how it ended after.
A document found `sending` is in doubt (the process died between the two, or Norce gave
no clear answer) and is looked up before anything is sent again:

- invoices and credits: Norce Query `Orders/Invoices` by InvoiceNo. Found: recorded as
  sent, not sent again. Not found: sent; and should Norce answer that the number already
  exists (Query lagging behind Connect), that too counts as sent. No double capture.
- order status: Query `Orders/Orders` by ClientOrderRef; if the order already has the
  status it is recorded as sent, else it is sent again, which is harmless (setting a
  status twice leaves it set).
- delivery notes: Query is not asked (our Query client reads orders and invoices only), so
  a delivery note in doubt is sent again. The residual risk is a second identical note in
  Norce (and perhaps a second shipping mail); no money moves on a delivery note.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from etl.entities.base import EntityOptions
from etl.entities.document import Document, DocumentEntity, restore
from etl.entities.invoice import InvoiceOptions, fee_parts, without_parts
from etl.entities.order_status import OrderStatusOptions, norce_status, status_id
from etl.norce.base import OrderAnswer, OrderCall, OrderService
from etl.norce.order_calls import ALREADY_EXISTS
from etl.to_norce.documents.book import DocumentBook, DocumentRow
from etl.to_norce.documents.completion import Payments, complete
from etl.to_norce.documents.party_codes import PRECHECK_CODES

Outcome = Literal[
    "sent",
    "already_sent",
    "found",
    "waiting",
    "rejected",
    "already_rejected",
    "conflict",
    "refused_by_check",
]


# Norce's answer -> the book's state, which is also this run's outcome for the document.
_ENDINGS: dict[str, Outcome] = {"sent": "sent", "waiting": "waiting", "refused": "rejected"}


class Lookup(Protocol):
    """What Norce Commerce Query tells about an order or an invoice (etl.norce.query)."""

    def find_order(self, client_order_ref: str) -> dict[str, Any] | None:
        """The order with this ClientOrderRef, or None."""
        ...

    def find_invoice(self, invoice_no: str) -> dict[str, Any] | None:
        """The invoice (or credit) with this InvoiceNo, or None."""
        ...


@runtime_checkable
class Prechecked(Protocol):
    """A service with checks of its own that run before a document is booked `sending`
    (etl.to_norce.documents.party_codes): a refusal there, or the checks' own outage, leaves no doubt."""

    def check(self, call: OrderCall) -> OrderAnswer | None:
        """The refusal, or None when the call may go."""
        ...


def _ending(answer: OrderAnswer) -> Outcome:
    """The book's state for an answer; a refusal by our own check stays open (retried)."""
    if answer.outcome == "refused" and answer.code in PRECHECK_CODES:
        return "refused_by_check"
    return _ENDINGS[answer.outcome]


@dataclass(frozen=True)
class Result:
    """What became of one document in this run."""

    document: Document
    outcome: Outcome
    message: str = ""
    dropped: tuple[int, ...] = ()  # indexes of fee lines left out (already captured)
    location: str | None = None
    code: str = ""  # the report's error code when the document was refused or conflicts


@dataclass
class Sender:
    """Sends the documents of one feed run; `lookup` opens Query only when a doubt needs it."""

    feed: str
    entity: DocumentEntity
    options: EntityOptions
    book: DocumentBook
    service: OrderService
    lookup: Callable[[], Lookup] | None  # None in file mode: nothing to look up there
    received: Payments  # the orders received here, for the payment invoices and credits name
    run_id: str
    stamp: Callable[[], str]

    def handle(self, document: Document) -> Result:
        """A document read from a file: send it unless the book says otherwise."""
        row = self.book.find(document.kind, document.number)
        if row is None:
            return self._send(document)
        if row.sha256 != document.sha:
            if row.state in ("sent", "sending"):
                return self._conflict(document, row)
            return self._send(document)  # Norce never took the earlier version: replace it
        if row.state == "sent":
            # A re-run after a crash reports the fee lines the first attempt left out again.
            return Result(document, "already_sent", dropped=self._left_out(document, row))
        if row.state == "rejected":
            return Result(document, "already_rejected", row.message or "", code="norce_rejected")
        if row.state == "sending":
            return self._in_doubt(document)
        return self._send(document)  # waiting: try again

    def resume(self, row: DocumentRow) -> Result:
        """A document the book holds open (waiting, or in doubt) from an earlier run."""
        document = restore(row.kind, row.doc_no, row.document, self.entity.fields())
        if row.state == "sending":
            return self._in_doubt(document)
        result = self._send(document)
        if row.state == result.outcome == "refused_by_check" and result.message == row.message:
            # Our check still refuses it for the same reason: already reported, and `status`
            # lists it; a quiet wait, not a report on every run.
            return Result(document, "waiting", result.message)
        return result

    def _conflict(self, document: Document, row: DocumentRow) -> Result:
        self.book.conflict(self.feed, document, self.run_id, self.stamp())
        change = (
            "credit it and invoice again under a new number"
            if document.kind == "invoice"
            else "send it under a new number"
        )
        message = (
            f"{document.kind} {document.number} was sent to Norce on {row.updated_at} (run "
            f"{row.run_id}) with other content; this version is not sent. To change it, {change}"
        )
        return Result(document, "conflict", message, code="conflict")

    def _in_doubt(self, document: Document) -> Result:
        found = self._found_in_norce(document)
        if found:
            note = "found in Norce after an interrupted attempt; not sent again"
            self.book.finish(document.kind, document.number, "sent", note, self.stamp())
            return Result(document, "found", note)
        result = self._send(document)
        invoice = document.kind in ("invoice", "credit")
        if result.outcome == "rejected" and invoice and ALREADY_EXISTS.search(result.message):
            note = f"Norce already had it after an interrupted attempt: {result.message}"
            self.book.finish(document.kind, document.number, "sent", note, self.stamp())
            return Result(document, "found", note)
        return result

    def _found_in_norce(self, document: Document) -> bool:
        if self.lookup is None:
            return False
        if document.kind in ("invoice", "credit"):
            return self.lookup().find_invoice(str(document.head["invoice_no"])) is not None
        if document.kind == "order_status" and document.client_order_ref is not None:
            assert isinstance(self.options, OrderStatusOptions)
            status = norce_status(document, self.options)
            order = self.lookup().find_order(str(document.client_order_ref))
            return (
                order is not None
                and status is not None
                and order.get("StatusId") == status_id(status)
            )
        return False

    def _send(self, document: Document) -> Result:
        waits_for = self._credited_invoice_open(document)
        if waits_for:
            self.book.hold(self.feed, document, "waiting", waits_for, self.run_id, self.stamp())
            return Result(document, "waiting", waits_for)
        completed = self._completed(document)
        if not isinstance(completed, Document):
            return completed
        outgoing, dropped, refusal = self._fees(completed)
        if refusal:
            self.book.hold(self.feed, document, "rejected", refusal, self.run_id, self.stamp())
            return Result(document, "rejected", refusal, code="fee_repeated")
        fees = self._fee_parts(outgoing)
        body = self.entity.build_body(outgoing, self.options)
        call = OrderCall(self.entity.method, body, f"{document.kind}-{document.number}")
        if isinstance(self.service, Prechecked) and (refused := self.service.check(call)):
            return self._refused_here(document, refused)
        self.book.begin(self.feed, document, fees, self.run_id, self.stamp())
        answer = self.service.send(call, self.feed)
        outcome = _ending(answer)
        message = answer.message or None
        self.book.finish(document.kind, document.number, outcome, message, self.stamp())
        code = (answer.code or "norce_rejected") if answer.outcome == "refused" else ""
        return Result(document, outcome, answer.message, tuple(dropped), answer.location, code)

    def _refused_here(self, document: Document, answer: OrderAnswer) -> Result:
        """Our check refused it, Norce was not called: open while the cause may go, else closed.

        Checking again is no attempt: a refusal that stands as it was is not written again
        (its run, time and count stay those of the run that reported it).
        """
        state: Outcome = "refused_by_check" if answer.code in PRECHECK_CODES else "rejected"
        row = self.book.find(document.kind, document.number)
        was = (row.sha256, row.state, row.message) if row is not None else None
        if was != (document.sha, state, answer.message):
            self.book.hold(self.feed, document, state, answer.message, self.run_id, self.stamp())
        return Result(document, state, answer.message, code=answer.code)

    def _completed(self, document: Document) -> Document | Result:
        """An invoice or credit with both order numbers and its payment, or the held Result.

        The book keeps the document as the file gave it (its hash decides conflicts); only
        the body carries what was completed.
        """
        if document.kind not in ("invoice", "credit"):
            return document
        done = complete(document, self.book, self.received)
        if done.document is not None:
            return done.document
        state: Outcome = "waiting" if done.waits else "rejected"
        message = done.waits or done.refused
        row = self.book.find(document.kind, document.number)
        if row is not None and row.state == "sending":
            # Still in doubt (an attempt may have reached Norce): it stays so, and the next
            # run looks it up in Query again before anything is sent.
            return Result(document, "waiting", message)
        self.book.hold(self.feed, document, state, message, self.run_id, self.stamp())
        return Result(document, state, message, code="" if done.waits else "payment_unknown")

    def _credited_invoice_open(self, document: Document) -> str:
        """Why a credit must wait for the invoice it credits, or ""."""
        if document.kind != "credit":
            return ""
        credited = str(document.head["credited_invoice_no"])
        row = self.book.find("invoice", credited)
        if row is None or row.state not in ("waiting", "sending"):
            return ""
        return f"waits for invoice {credited}, which is not in Norce yet ({row.state})"

    def _left_out(self, document: Document, row: DocumentRow) -> tuple[int, ...]:
        """Indexes of the fee lines that were not in the body Norce got."""
        carried = self._fee_parts(document)
        return tuple(
            n
            for n, line in enumerate(document.lines)
            if line.get("part_no") in carried and line["part_no"] not in row.fees
        )

    def _fee_parts(self, document: Document) -> set[str]:
        if isinstance(self.options, InvoiceOptions) and document.kind == "invoice":
            return fee_parts(document, self.options.fee_part_nos)
        return set()

    def _fees(self, document: Document) -> tuple[Document, list[int], str]:
        """The invoice without fees an earlier invoice of its order captured; or why not sent."""
        if not isinstance(self.options, InvoiceOptions) or document.kind != "invoice":
            return document, [], ""
        ref, erp = document.client_order_ref, document.erp_order_no
        earlier = self.book.fees_captured(ref, erp, besides=document.number)
        repeated = self._fee_parts(document) & earlier
        if not repeated:
            return document, [], ""
        shown = ", ".join(sorted(repeated))
        if self.options.later_invoice_fees == "reject":
            return (
                document,
                [],
                (
                    f"invoice {document.number} repeats {shown}, which an earlier invoice of the same "
                    "order already carried: Norce captures freight and fees once per order "
                    '(later_invoice_fees = "reject")'
                ),
            )
        outgoing, dropped = without_parts(document, repeated)
        if not outgoing.lines:
            return (
                document,
                [],
                (
                    f"invoice {document.number} holds only {shown}, already captured with an "
                    "earlier invoice of the same order: nothing is left to invoice"
                ),
            )
        return outgoing, dropped, ""
