"""`python -m etl`: the same entry point as the `erp-norce-etl` console script and `run.py`."""

import sys

from etl.start import main

if __name__ == "__main__":
    sys.exit(main())
