"""The edges one run of a document feed talks to: the book, Norce's Order service, Query.

In http mode one NorceClient serves both the Order calls and, only when a document is in
doubt, Query (which then needs `norce.application_id`); in file mode the calls are written
to `outbox/norce/<feed>/` and nothing is ever looked up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType

from etl.documents.book import DocumentBook
from etl.documents.sender import Lookup
from etl.flows.runtime import Runtime
from etl.norce.client import NorceClient
from etl.norce.order_calls import FileOrderService, HttpOrderService, OrderService
from etl.norce.query import QueryClient
from etl.settings import NorceSettings


@dataclass
class Channel:
    """Book, Order service and (http mode) a Query client opened on first need."""

    book: DocumentBook
    service: OrderService
    client: NorceClient | None = None
    settings: NorceSettings | None = None
    query_path: str = ""
    _query: QueryClient | None = field(default=None, init=False)

    @classmethod
    def open(cls, rt: Runtime) -> Channel:
        """The channel the runtime's settings describe."""
        book = DocumentBook(rt.ledger.path)
        settings = rt.settings
        if settings.norce.mode != "http":
            return cls(book, FileOrderService(settings.folder("outbox"), settings.norce))
        client = NorceClient(settings.norce, sleep=rt.sleep)
        query_path = settings.orders.query_path
        return cls(book, HttpOrderService(client), client, settings.norce, query_path)

    @property
    def can_look_up(self) -> bool:
        """Whether documents in doubt can be looked up (http mode)."""
        return self.client is not None

    def lookup(self) -> Lookup:
        """The Query client, opened now if this is the first document in doubt."""
        if self._query is None:
            assert self.client is not None and self.settings is not None
            self._query = QueryClient(self.settings, self.query_path, connect=self.client)
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
        if self.client is not None:
            self.client.close()
        self.book.close()
