"""An invoice or credit completed from what is known of its order, or why it cannot go yet.

CreateInvoice and CreditPayment need both order numbers, ClientOrderRef (an int) and
ErpOrderNo, and a Payment naming one of the order's payments by PaymentCode or PaymentRef
(reference, corrections 4: PaymentCode is a C# int, so leaving it out sends 0). ERP files
often carry one number and no payment, so:

- the missing number comes from the order's acknowledgement: the order status Norce took
  naming both (DocumentBook.order_numbers);
- the payment comes from the file when it names one (payment_ref or payment_code), else
  from the order as Norce sent it (its Payments[], etl.to_erp.orders.received).

A document whose order cannot be told, or whose order was not received here, waits: it is
tried again on every run, like one whose order Norce does not know yet. One whose order came
without a payment that can be named is refused: no later run can change that; the ERP file
has to name the payment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from etl.entities.document import Document
from etl.to_erp.orders.model import Payment
from etl.to_norce.documents.book import DocumentBook


class Payments(Protocol):
    """The payments of the orders received here (etl.to_erp.orders.received.ReceivedOrders)."""

    def payments(self, client_order_ref: str) -> list[Payment] | None:
        """The order's Payments[], None when the order was not received here."""
        ...


@dataclass(frozen=True)
class Completed:
    """The document as it is sent, or why it waits or is refused."""

    document: Document | None = None
    waits: str = ""
    refused: str = ""


def complete(document: Document, book: DocumentBook, received: Payments) -> Completed:
    """The document with both order numbers and a payment Norce can capture or refund."""
    said = f"{document.kind} {document.number}"
    ref, erp = document.client_order_ref, document.erp_order_no
    if ref is None or erp is None:
        pairs = book.order_numbers(ref, erp)
        if len(pairs) > 1:
            shown = ", ".join(f"{r} / {e}" for r, e in pairs)
            return Completed(
                waits=f"{said}: its order number is tied to several orders ({shown}); the "
                "file must name both ClientOrderRef and ErpOrderNo"
            )
        if pairs:
            ref, erp = (ref if ref is not None else pairs[0][0]), (erp or pairs[0][1])
    if ref is None or erp is None:
        return Completed(waits=_unknown_order(said, ref, erp))
    head = {**document.head, "client_order_ref": ref, "erp_order_no": erp}
    if head.get("payment_ref") or head.get("payment_code"):
        return Completed(replace(document, head=head))
    payments = received.payments(str(ref))
    if payments is None:
        return Completed(
            waits=f"{said}: order {ref} was not received here, so its payment (PaymentCode or "
            "PaymentRef, which Norce needs to capture) is not known; waits for the order, or "
            "name the payment in the ERP file (payment_ref or payment_code)"
        )
    payment, refused = _choose(payments, head.get("payment_method_code"), f"{said}: order {ref}")
    if payment is None:
        return Completed(refused=refused)
    head |= {
        "payment_ref": payment.payment_ref or None,
        "payment_code": payment.payment_code or None,  # 0 is C#'s "not set"
        "payment_method_code": head.get("payment_method_code") or payment.payment_method_code,
    }
    return Completed(replace(document, head=head))


def _unknown_order(said: str, ref: int | None, erp: str | None) -> str:
    missing, known = (
        ("ErpOrderNo", f"ClientOrderRef {ref}") if ref is not None else
        ("ClientOrderRef", f"ErpOrderNo {erp}")
    )  # fmt: skip
    return (
        f"{said} names only {known}: Norce needs its {missing} too, and no acknowledgement "
        "(order status) naming both has been sent yet; waits for it"
    )


def _choose(payments: Sequence[Payment], method: object, said: str) -> tuple[Payment | None, str]:
    """The one payment to name, or why there is none.

    [I] An order paid partly by gift card or voucher has more than one payment; which one a
    capture must name is not documented, so the file's payment_method_code picks it, and
    without it the document is refused rather than guessed.
    """
    named = [p for p in payments if p.payment_code or p.payment_ref]
    if len(named) > 1 and method is not None:
        named = [p for p in named if p.payment_method_code == method] or named
    if len(named) == 1:
        return named[0], ""
    if not named:
        return None, (
            f"{said} came with neither PaymentCode nor PaymentRef on any payment: Norce "
            "cannot capture without one; name it in the ERP file (payment_ref or payment_code)"
        )
    shown = ", ".join(str(p.payment_method_code or p.payment_code) for p in named)
    return None, (
        f"{said} has {len(named)} payments ({shown}): name the one to capture in the ERP file "
        "(payment_method_code, payment_ref or payment_code)"
    )
