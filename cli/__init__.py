"""The `lookalike` command: query, demo, compare, build-index (cli/main.py)."""
