"""Training scripts, one per model: `python -m training.detector|landmarks|embedder`."""
