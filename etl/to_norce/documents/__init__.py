"""Documents, ERP -> Norce: order status, delivery notes, invoices and credits, each sent once.

grouping (rows -> documents), book (what was sent, two-phase), sender (one document's way,
in-doubt lookups), channel (book, Order service, Query), summary (reports and counts),
flow (the feed run), status (what `run.py status` shows). Entities: etl.entities.*.
"""
