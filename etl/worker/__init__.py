"""`run.py worker`: the jobs of a pass shared by any number of machines through procrastinate."""
