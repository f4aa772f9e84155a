"""The study notebooks (one per stage) and `python -m notebooks.execute`, which re-runs them in place."""
