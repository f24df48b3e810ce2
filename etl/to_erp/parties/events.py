"""One Norce Event in: the party it names found, the body spooled durably, booked, answered.

Norce Event (reference section 17) posts each event as JSON to the URL set in Norce Admin
and retries anything but a 2xx for about 22 hours. The event type is taken from the path
(`<events path>/CustomerChangedNotification`): one URL per subscription in Norce Admin,
and no guess about a type field in a payload nobody has documented. The customer events'
payload is not documented either, so any JSON object is taken and the party's Norce Id is
read from the first of these top-level properties, in any casing [I]: `CustomerId` (or
`CompanyId`), then `EntityId`, then `Id`. Verify on a playground which one Norce sends.

The order of the steps is the guarantee, as for orders: the body is stored durably and
the book knows the event before 200 is answered. A body without a usable id is answered 400
(Norce retries, then dead-letters it) and kept under `archive/parties/rejected/` for a
person; logs name the event type, the event's seq and the Norce Id, never the body (a
customer event may carry names and addresses), at most the names of its properties.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from etl.config.settings import Settings
from etl.runtime import ledger_at, utc_now
from etl.state.areas import Areas
from etl.state.blob_refused import open_refused
from etl.state.blob_spool import open_spool
from etl.state.refused_base import RefusedBodies, hash_prefix
from etl.state.refused_local import LocalRefused
from etl.state.spool_base import BodySpool
from etl.to_erp.orders.inbound import Answer
from etl.to_erp.parties.book import PartyBook

log = logging.getLogger(__name__)

# Event type (the last step of the path) -> the kind of party it names.
EVENT_KINDS: Mapping[str, str] = {
    "CustomerChangedNotification": "customer",
    "CompanyChangedNotification": "company",
}
# [I] Where the id may be, per kind, most specific first (compared in lower case).
ID_KEYS: Mapping[str, tuple[str, ...]] = {
    "customer": ("CustomerId", "EntityId", "Id"),
    "company": ("CompanyId", "EntityId", "Id"),
}
_INT32_MAX = 2**31 - 1
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")


class EventRefused(ValueError):
    """The body cannot be taken; the message says why and holds no value from it."""


def party_id(kind: str, payload: Any) -> int:
    """The Norce Id of the party an event names; EventRefused when there is none."""
    if not isinstance(payload, dict):
        raise EventRefused("the body is not a JSON object")
    by_name = {str(k).lower(): v for k, v in payload.items()}
    for key in ID_KEYS[kind]:
        value = by_name.get(key.lower())
        if value is None:
            continue
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= _INT32_MAX:
            return value
        raise EventRefused(f"{key} is not a Norce Id (a positive whole number)")
    keys = sorted(str(k) for k in payload if _KEY.match(str(k)))[:20]
    raise EventRefused(
        f"no {kind} id: looked for {', '.join(ID_KEYS[kind])}; "
        f"the body has {', '.join(keys) or 'no such properties'}"
    )


def answer(status: int, description: str) -> Answer:
    """What Norce gets: only the status counts (200, or a retry); the text is for people."""
    code = "OK" if status == 200 else "Failed"
    return Answer(status, {"StatusCode": code, "Description": description[:500]})


class PartyInbound:
    """Takes event bodies into the party spool and the party book."""

    def __init__(
        self,
        book: PartyBook,
        spool: BodySpool,
        refused: RefusedBodies | Path,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.book, self.spool, self.clock = book, spool, clock
        # A folder: refused bodies kept there, as on one machine.
        self.refused = LocalRefused(refused) if isinstance(refused, Path) else refused

    def accept(self, event: str, body: bytes, source: str = "push") -> Answer:
        """Spool and book one event of type `event`; the answer for Norce."""
        kind = EVENT_KINDS[event]
        try:
            norce_id = party_id(kind, _json(body))
        except EventRefused as exc:
            kept = self._keep_rejected(body, str(exc))
            log.warning("%s refused (%s), kept as %s: %s", event, source, kept, exc)
            return answer(400, str(exc))
        spooled = self.spool.put(f"{event}-{norce_id}", body, "json")
        arrival, seq = self.book.receive(
            kind, norce_id, event, spooled.sha256, spooled.name, source, self.stamp()
        )
        if arrival == "again":
            log.info("%s for %s %d: the same as event %d, not booked again",
                     event, kind, norce_id, seq)  # fmt: skip
            return answer(200, "already received")
        log.info("%s for %s %d booked as event %d (%s)", event, kind, norce_id, seq, source)
        return answer(200, "queued")

    def recover(self) -> int:
        """Book spooled events the book does not know (the process died in between)."""
        names = [n for n in self.spool.names() if n.endswith(".json")]
        if not names:
            return 0
        known = self.book.spool_names()
        recovered = 0
        for name in names:
            event = name.split("-", 1)[0]
            if name in known or event not in EVENT_KINDS:
                continue
            try:
                body = self.spool.read(name)
            except FileNotFoundError:
                continue  # purged since it was listed
            if self.accept(event, body, "recovered").status == 200:
                recovered += 1
        return recovered

    def stamp(self) -> str:
        """Now, ISO 8601 UTC."""
        return self.clock().astimezone(dt.UTC).isoformat(timespec="milliseconds")

    def _keep_rejected(self, body: bytes, reason: str) -> str:
        """One copy per distinct body (Norce retries it for hours), with the reason; its name.

        The earlier copy is looked for wherever refused bodies are kept (the bucket, with
        `[storage] backend = "s3"`): a retry refused by another receiver finds it too.
        """
        sha = hashlib.sha256(body).hexdigest()[:16]
        earlier = [n for n in self.refused.names() if hash_prefix(n) == sha and n.endswith(".json")]
        if earlier:
            return earlier[0]
        # Named like refused order bodies (time first), so `run.py purge` can age them.
        return self.refused.keep(body, "json", reason, self.clock())


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise EventRefused("the body is not JSON") from exc


def open_party_inbound(settings: Settings) -> PartyInbound:
    """The party inbound over this installation's event spool, book and archive."""
    areas = Areas(settings.home)
    return PartyInbound(
        PartyBook(ledger_at(settings)),
        open_spool(settings.storage, areas, "parties"),
        open_refused(settings.storage, areas, "parties"),
        utc_now,
    )
