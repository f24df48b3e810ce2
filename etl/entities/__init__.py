"""The canonical entities, by name. One module per entity: schema, key, Norce payloads."""

from __future__ import annotations

from etl.entities.base import CallContext, Entity, EntityOptions
from etl.entities.buyer_number import BUYER_NUMBER
from etl.entities.company import COMPANY
from etl.entities.customer import CUSTOMER
from etl.entities.delivery_note import DELIVERY_NOTE
from etl.entities.document import DocumentEntity
from etl.entities.invoice import CREDIT, INVOICE
from etl.entities.onhand import ONHAND
from etl.entities.order_status import ORDER_STATUS
from etl.entities.price import PRICE
from etl.entities.product import PRODUCT

# Snapshot entities are diffed; document entities (order status, delivery notes, invoices,
# credits, the ERP's numbers for web-born buyers) are events sent once each by
# etl.to_norce.documents.flow.
ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        PRODUCT,
        PRICE,
        ONHAND,
        COMPANY,
        CUSTOMER,
        ORDER_STATUS,
        DELIVERY_NOTE,
        INVOICE,
        CREDIT,
        BUYER_NUMBER,
    )
}

__all__ = ["ENTITIES", "CallContext", "DocumentEntity", "Entity", "EntityOptions"]
