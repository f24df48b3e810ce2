"""The commands of `run.py` that need more than a line of wiring, one module per area."""
