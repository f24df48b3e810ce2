"""Command line entry point; see `python run.py --help` and the README."""

import sys

from etl.cli import main

if __name__ == "__main__":
    sys.exit(main())
