"""Run a feed, ERP -> Norce: pick its middle stage (master data or documents) and take its files.

The one place that knows both flows, so neither imports the other: a master-data file that a
document feed also reads (buyer numbers in the acknowledgements) gets the documents' stage
for that feed's run, and the other way round.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from etl.config.contracts import FeedContract
from etl.entities import DocumentEntity
from etl.lazy import imported_when_called
from etl.runtime import Runtime
from etl.to_norce import records
from etl.to_norce.feed import Ingest
from etl.to_norce.masterdata.flow import ingest, run_masterdata_feed

if TYPE_CHECKING:
    from etl.to_norce.documents.flow import ingest_derived, run_document_feed
else:  # the documents flow (its book, sender, order model): a tenth of a second of every
    # master-data run's start, that none of them uses
    ingest_derived = imported_when_called("etl.to_norce.documents.flow", "ingest_derived")
    run_document_feed = imported_when_called("etl.to_norce.documents.flow", "run_document_feed")

log = logging.getLogger(__name__)


def run_feed(
    rt: Runtime, contract: FeedContract, stop: threading.Event | None = None
) -> list[records.FileOutcome]:
    """One pass over a feed: every complete file, oldest name first; stops at the first failure."""
    if contract.source.from_feed is not None:
        log.debug(
            "%s: reads the files of %s, in its runs", contract.name, contract.source.from_feed
        )
        return []
    if isinstance(contract.entity, DocumentEntity):
        return run_document_feed(rt, contract, stop, derived_stage)
    return run_masterdata_feed(rt, contract, stop, derived_stage)


def derived_stage(contract: FeedContract) -> Ingest:
    """The middle stage of a feed that reads another feed's file, in that file's run."""
    return ingest_derived if isinstance(contract.entity, DocumentEntity) else ingest
