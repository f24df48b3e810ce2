"""Command line entry point from a checkout; installed, the same is `erp-norce-etl` or `python -m etl`."""

import sys

from etl.start import main

if __name__ == "__main__":
    sys.exit(main())
