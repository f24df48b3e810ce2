"""The canonical entities, by name. One module per entity: schema, key, Norce payloads."""

from __future__ import annotations

from etl.entities.base import CallContext, Entity, EntityOptions
from etl.entities.onhand import ONHAND
from etl.entities.price import PRICE
from etl.entities.product import PRODUCT

ENTITIES: dict[str, Entity] = {e.name: e for e in (PRODUCT, PRICE, ONHAND)}

__all__ = ["ENTITIES", "CallContext", "Entity", "EntityOptions"]
