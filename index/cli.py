"""`lookalike`: who do you look like, from the command line (the same answer the bot sends).

    lookalike demo --data-root ../shared/data     build the index if missing, then query the example photo
    lookalike query PHOTO [PHOTO ...] [--top 8] [--out DIR] [--json]
    lookalike build-index --data-root ../shared/data [--out DIR] [--limit N]

The index directory is --index, else $LOOKALIKE_INDEX_DIR, else index_data/ in the current directory.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pipeline import FacePipeline
from pipeline.card import encode_jpeg, similarity_band
from pipeline.photo import PhotoError, read_photo

from .build import add_build_arguments, add_data_arguments, build_command, run_build
from .engine import (
    FaceMatches,
    IndexMismatchError,
    LookalikeEngine,
    LookupResult,
    check_same_weights,
    default_weights_dir,
)
from .gallery import Gallery, MissingIndexError, default_index_dir

EXAMPLE_PHOTO = Path(__file__).resolve().parents[1] / "examples" / "astronaut.jpg"
NO_FACE_MESSAGE = "no face found. Try a sharp, well-lit photo with a front-facing face that is not too small."


def add_query_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--top", type=int, default=8, help="look-alikes per face (default 8)")
    parser.add_argument("--max-faces", type=int, default=10, help="faces searched per photo, largest first")
    parser.add_argument("--out", type=Path, default=Path("cards"),
                        help="folder for the result cards (default cards/)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per photo, not tables")
    parser.add_argument("--index", type=Path, default=default_index_dir(),
                        help="index directory (default $LOOKALIKE_INDEX_DIR, else index_data/)")
    parser.add_argument("--weights", type=Path, default=default_weights_dir(),
                        help="model weights folder (default $LOOKALIKE_WEIGHTS_DIR, else the committed ones)")


def write_cards(engine: LookalikeEngine, result: LookupResult, photo: Path, out_dir: Path) -> list[Path]:
    """One card JPEG per face: OUT/<photo name>_face<N>.jpg."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, face_matches in enumerate(result.faces, start=1):
        path = out_dir / f"{photo.stem}_face{number}.jpg"
        path.write_bytes(encode_jpeg(engine.card(face_matches)))
        paths.append(path)
    return paths


def face_table(face_matches: FaceMatches, threshold: float) -> list[str]:
    lines = [f"  {'rank':>4}  {'identity':>8}  {'image id':<12}  {'similarity':>10}  match"]
    for match in face_matches.matches:
        band = similarity_band(match.similarity, threshold).name
        lines.append(f"  {match.rank:>4}  {match.identity:>8}  {match.image_id:<12}  "
                     f"{match.similarity:>10.3f}  {band}")
    return lines


def report_text(photo: Path, result: LookupResult, cards: list[Path], threshold: float) -> str:
    if not result.faces:
        return f"{photo}: {NO_FACE_MESSAGE}"
    lines = []
    for number, (face_matches, card) in enumerate(zip(result.faces, cards, strict=True), start=1):
        face = face_matches.face
        box = ", ".join(f"{v:.0f}" for v in face.box)
        lines.append(f"{photo}: face {number} of {len(result.faces)} "
                     f"(box {box}, detector score {face.score:.2f})")
        lines.extend(face_table(face_matches, threshold))
        lines.append(f"  card: {card}")
    if result.skipped:
        lines.append(f"({result.skipped} smaller faces not searched)")
    lines.append(f"(similarity is cosine; the embedder calls two faces the same person from {threshold:.3f})")
    return "\n".join(lines)


def report_json(photo: Path, result: LookupResult, cards: list[Path], threshold: float) -> dict[str, Any]:
    return {
        "photo": str(photo),
        "threshold": threshold,
        "message": None if result.faces else NO_FACE_MESSAGE,
        "skipped_faces": result.skipped,
        "faces": [
            {
                "box": [round(float(v), 1) for v in face_matches.face.box],
                "score": round(face_matches.face.score, 4),
                "card": str(card),
                "matches": [
                    {"rank": m.rank, "identity": m.identity, "image_id": m.image_id,
                     "similarity": round(m.similarity, 4)}
                    for m in face_matches.matches
                ],
            }
            for face_matches, card in zip(result.faces, cards, strict=True)
        ],
    }


def query_photo(engine: LookalikeEngine, photo: Path, args: argparse.Namespace) -> int:
    """Print the look-alikes of every face in one photo and write its cards; 1 if the photo is unreadable."""
    try:
        rgb = read_photo(photo)
    except (PhotoError, OSError) as error:
        print(f"{photo}: cannot read this photo ({error})", file=sys.stderr)
        return 1
    result = engine.lookup(rgb, top=args.top, max_faces=args.max_faces)
    cards = write_cards(engine, result, photo, args.out)
    if args.json:
        print(json.dumps(report_json(photo, result, cards, engine.threshold)))
    else:
        print(report_text(photo, result, cards, engine.threshold))
    return 0


def query_photos(engine: LookalikeEngine, photos: list[Path], args: argparse.Namespace) -> int:
    return max(query_photo(engine, photo, args) for photo in photos)


def run_query(args: argparse.Namespace) -> int:
    try:
        engine = LookalikeEngine.load(args.index, args.weights, threads=1)  # one photo at a time: fastest
    except (MissingIndexError, IndexMismatchError) as error:
        print(error, file=sys.stderr)
        return 2
    return query_photos(engine, args.photos, args)


def current_gallery(pipeline: FacePipeline, index_dir: Path) -> Gallery | None:
    """The gallery in `index_dir` if it exists and was built with this pipeline's weights, else None."""
    try:
        gallery = Gallery.load(index_dir)
        check_same_weights(gallery, pipeline, index_dir)
    except (MissingIndexError, IndexMismatchError):
        return None
    return gallery


def run_demo(args: argparse.Namespace) -> int:
    """Build the index into --index if it is missing or stale, then query the photo (default: the example)."""
    pipeline = FacePipeline.load(args.weights, threads=args.threads)
    gallery = current_gallery(pipeline, args.index)
    if gallery is None:
        print(f"No gallery index for these weights in {args.index}/: building it (first run only; "
              "several minutes on 2 cores).")
        status = build_command(args, pipeline, args.index)
        if status:
            return status
        gallery = Gallery.load(args.index)
    return query_photos(LookalikeEngine(pipeline, gallery), [args.photo], args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lookalike", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    query = commands.add_parser("query", help="find the CelebA look-alikes of the faces in photos")
    query.add_argument("photos", nargs="+", type=Path, metavar="PHOTO")
    add_query_arguments(query)
    query.set_defaults(handler=run_query)

    build = commands.add_parser("build-index", help="build the gallery index from a CelebA root")
    add_build_arguments(build)
    build.set_defaults(handler=run_build)

    demo = commands.add_parser("demo", help="build the index if missing, then query the example photo")
    demo.add_argument("photo", nargs="?", type=Path, default=EXAMPLE_PHOTO,
                      help="default: examples/astronaut.jpg")
    add_data_arguments(demo)
    add_query_arguments(demo)
    demo.set_defaults(handler=run_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
