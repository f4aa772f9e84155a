"""`python -m web`: the same as `lookalike serve`."""

from __future__ import annotations

import argparse
import sys

from web.config import add_serve_arguments
from web.server import serve

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m web", description="Serve the look-alike web page and its API.")
    add_serve_arguments(parser)
    sys.exit(serve(parser.parse_args()))
