"""Training scripts, one per model: `python -m pipeline.train.detector|landmarks|embedder`."""
