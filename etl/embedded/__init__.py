"""The embedded default, shipped inside the package: the feed contracts and the sample exports.

With no settings file the process runs on these, wherever it is started: the contracts (and the
order and party layouts under them) and a read-only `erp` store of sample ERP exports. They are
found by this package's own location, never by the current directory, so an installed package
runs the same as a checkout. Nothing here is ever written to: runs read the samples in place.
"""

from __future__ import annotations

from pathlib import Path

# A plain folder on disk: the samples are a LocalStore root, so a zipped install could not serve
# them anyway; the package's own location is the one answer that holds for a checkout and a wheel.
EMBEDDED = Path(__file__).resolve().parent
SCHEMAS = EMBEDDED / "schemas"
SAMPLES = EMBEDDED / "samples" / "erp"
