"""The edges one run of a document feed talks to: the book, Norce's Order service, Query.

In http mode one NorceClient serves both the Order calls and, only when a document is in
doubt, Query (which then needs `norce.application_id`); in file mode the calls are written
to `outbox/norce/<feed>/` and nothing is ever looked up. Buyer numbers travel another way
(`via = "party_codes"`): Query checks, then the customer imports (etl.to_norce.documents.party_codes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from etl.config.settings import NorceSettings
from etl.entities.base import EntityOptions
from etl.entities.document import DocumentEntity
from etl.entities.party import PartyOptions
from etl.norce.base import Delivery, OrderService
from etl.norce.bucket_calls import BucketCalls, open_bucket_calls
from etl.norce.client import NorceClient
from etl.norce.file_delivery import FileDelivery
from etl.norce.http_delivery import HttpDelivery
from etl.norce.order_calls import FileOrderService, HttpOrderService
from etl.norce.query import QueryClient
from etl.runtime import Runtime
from etl.state.areas import Areas
from etl.state.spool_base import BodySpool
from etl.to_erp.orders.received import ReceivedOrders
from etl.to_norce.documents.book import DocumentBook
from etl.to_norce.documents.party_codes import PartyCodeService


@dataclass
class Channel:
    """Book, Order service and (http mode) a Query client opened on first need."""

    book: DocumentBook
    service: OrderService
    norce: NorceSettings
    outbox: Path
    areas: Areas
    sleep: Callable[[float], None]
    order_spool: BodySpool
    client: NorceClient | None = None
    query_path: str = ""
    bucket: BucketCalls | None = None  # file mode on S3: calls put in the bucket
    _query: QueryClient | None = field(default=None, init=False)
    _received: ReceivedOrders | None = field(default=None, init=False)

    @classmethod
    def open(cls, rt: Runtime) -> Channel:
        """The channel the runtime's settings describe."""
        book = DocumentBook(rt.ledger.at)
        settings = rt.settings
        areas = rt.areas
        outbox = areas.outbox
        if settings.norce.mode != "http":
            bucket = open_bucket_calls(settings.storage, outbox)
            files = FileOrderService(outbox, settings.norce, bucket)
            return cls(book, files, settings.norce, outbox, areas, rt.sleep, rt.spool("orders"),
                       bucket=bucket)  # fmt: skip
        client = NorceClient(settings.norce, sleep=rt.sleep, shared=rt.shared_tokens())
        query_path = settings.orders.query_path
        return cls(book, HttpOrderService(client), settings.norce, outbox, areas, rt.sleep,
                   rt.spool("orders"), client, query_path)  # fmt: skip

    def service_for(self, entity: DocumentEntity, options: EntityOptions) -> OrderService:
        """The way the entity's documents travel to Norce."""
        if entity.via == "order_service":
            return self.service
        delivery: Delivery = (
            FileDelivery(self.outbox, self.norce, self.bucket)
            if self.client is None
            else HttpDelivery(self.client, self.norce, sleep=self.sleep)
        )
        key = options.application_key if isinstance(options, PartyOptions) else None
        lookup = self.lookup if self.can_look_up else None
        return PartyCodeService(delivery, self.norce.account_id, lookup, self.received.email, key)

    @property
    def received(self) -> ReceivedOrders:
        """The orders received here (buyers' e-mails, payments), opened on first use."""
        if self._received is None:
            self._received = ReceivedOrders(self.book.at, self.order_spool)
        return self._received

    @property
    def can_look_up(self) -> bool:
        """Whether documents in doubt can be looked up (http mode)."""
        return self.client is not None

    def lookup(self) -> QueryClient:
        """The Query client, opened now if this is the first document in doubt."""
        if self._query is None:
            assert self.client is not None
            self._query = QueryClient(self.norce, self.query_path, connect=self.client)
        return self._query

    def __enter__(self) -> Channel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._query is not None:
            self._query.close()
        if self._received is not None:
            self._received.close()
        if self.client is not None:
            self.client.close()
        self.book.close()
