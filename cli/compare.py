"""`lookalike compare A.jpg [B.jpg]`: how similar two faces are, as the bot's /compare answers.

Two photos: the largest face of each; one photo: its two largest faces. Prints the cosine similarity and the
verdict (reply/compare.py) and writes both faces side by side to OUT/compare_<A>_<B>.jpg. Needs only the
models, not the gallery index.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline import FacePipeline, settings
from pipeline.image import encode_jpeg
from pipeline.photo import PhotoError, read_photo
from reply.compare import Comparison, NotEnoughFacesError, Verdict, compare_images
from reply.report import comparison_json

VERDICTS = {Verdict.SAME: "likely the same person", Verdict.LOOKALIKE: "look-alikes",
            Verdict.DIFFERENT: "different people"}


def add_compare_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("compare", help="how similar two faces are (two photos, or one with two faces)")
    parser.add_argument("photos", nargs="+", type=Path, metavar="PHOTO", help="one or two photos")
    parser.add_argument("--out", type=Path, default=Path("cards"),
                        help="folder for the side-by-side picture (default cards/)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--weights", type=Path, default=settings.weights_dir(),
                        help="model weights folder (default $LOOKALIKE_WEIGHTS_DIR, else the committed ones)")
    parser.set_defaults(handler=run_compare)


def report(photos: list[Path], comparison: Comparison, picture: Path, as_json: bool) -> str:
    if as_json:
        return json.dumps({"photos": [str(photo) for photo in photos], **comparison_json(comparison, str(picture))})
    return (f"similarity {comparison.similarity:.3f}: {VERDICTS[comparison.verdict]}\n"
            f"(the same person from {comparison.same_from:.3f}, look-alikes from {comparison.lookalike_from:.3f})\n"
            f"faces side by side: {picture}")


def run_compare(args: argparse.Namespace) -> int:
    """1 for an unreadable photo or too few faces, 2 for a wrong number of photos."""
    if len(args.photos) > 2:
        print("compare takes one photo (its two largest faces) or two photos", file=sys.stderr)
        return 2
    try:
        images = [read_photo(photo) for photo in args.photos]
    except (PhotoError, OSError) as error:
        print(f"cannot read a photo ({error})", file=sys.stderr)
        return 1
    try:
        comparison = compare_images(FacePipeline.load(args.weights, threads=1), images)
    except NotEnoughFacesError as error:
        where = f"no face in {args.photos[error.photo - 1]}" if error.photo else f"{error.found} face(s) found"
        print(f"nothing to compare: {where}; two faces are needed", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    picture = args.out / f"compare_{'_'.join(photo.stem for photo in args.photos)}.jpg"
    picture.write_bytes(encode_jpeg(comparison.image))
    print(report(args.photos, comparison, picture, args.json))
    return 0
