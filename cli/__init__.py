"""The `lookalike` command: query, demo, compare, build-index, serve (cli/main.py)."""
