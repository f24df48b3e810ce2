"""Prepared orders -> a CSV order file: one line per row, the record's tag first.

Quoting is minimal (a cell is quoted only when it holds the delimiter, the quote or a line
break, the quote doubled inside), which every CSV reader and most ERP importers take. The
text is encoded once, strictly: `prepare` has already fitted every cell to the encoding.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from etl.to_erp.files.layouts import Layout
from etl.to_erp.files.prepared import Prepared

LINE_ENDS = {"crlf": "\r\n", "lf": "\n"}


def render_csv(layout: Layout, orders: Sequence[Prepared]) -> bytes:
    """The CSV file's bytes."""
    fmt = layout.format
    buffer = io.StringIO(newline="")
    writer = csv.writer(
        buffer,
        delimiter=fmt.delimiter,
        quotechar=fmt.quote,
        lineterminator=LINE_ENDS[fmt.line_end],
        quoting=csv.QUOTE_MINIMAL,
    )
    for order in orders:
        for row in order.rows:
            tag = [row.record.tag] if row.record.tag is not None else []
            writer.writerow([*tag, *row.cells])
    return buffer.getvalue().encode(fmt.encoding)
