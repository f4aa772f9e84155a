"""`lookalike`: who do you look like, from the command line (the same answer the bot sends).

    lookalike demo --data-root ../shared/data     build the index if missing, then query the example photo
    lookalike query PHOTO [PHOTO ...] [--top 8] [--out DIR] [--json]
    lookalike build-index --data-root ../shared/data [--out DIR] [--limit N]
    lookalike compare A.jpg [B.jpg] [--out DIR] [--json]   how similar two faces are

The index directory is --index, else $LOOKALIKE_INDEX_DIR, else index_data/ in the current directory.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import FacePipeline
from pipeline.card import ENGLISH, LookalikeScale, encode_jpeg
from pipeline.photo import PhotoError, read_photo

from .build import add_build_arguments, add_data_arguments, build_command, run_build
from .compare_command import add_compare_command
from .engine import (
    FaceMatches,
    IndexMismatchError,
    LookalikeEngine,
    LookupResult,
    check_same_weights,
    default_weights_dir,
    named_gallery,
)
from .gallery import Gallery, Match, MissingIndexError, default_index_dir

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


@dataclass
class WrittenCards:
    overview: Path | None  # OUT/<photo name>_overview.jpg, for a photo of several faces
    cards: list[Path]  # OUT/<photo name>_face<N>.jpg, one per face searched


def write_cards(engine: LookalikeEngine, rgb: np.ndarray, result: LookupResult, photo: Path,
                out_dir: Path) -> WrittenCards:
    """The overview (several faces) and one card JPEG per face, as the bot sends them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    overview = engine.overview(rgb, result)
    overview_path = out_dir / f"{photo.stem}_overview.jpg" if overview is not None else None
    if overview_path is not None:
        overview_path.write_bytes(encode_jpeg(overview))
    paths = []
    for number, face_matches in enumerate(result.faces, start=1):
        path = out_dir / f"{photo.stem}_face{number}.jpg"
        path.write_bytes(encode_jpeg(engine.card(face_matches)))
        paths.append(path)
    return WrittenCards(overview_path, paths)


def band_name(similarity: float, scale: LookalikeScale | None) -> str:
    return scale.band(similarity).name if scale is not None else "-"


def face_table(face_matches: FaceMatches, scale: LookalikeScale | None) -> list[str]:
    lines = [f"  {'rank':>4}  {'identity':>8}  {'image id':<12}  {'similarity':>10}  match"]
    for match in face_matches.matches:
        lines.append(f"  {match.rank:>4}  {match.identity:>8}  {match.image_id:<12}  "
                     f"{match.similarity:>10.3f}  {band_name(match.similarity, scale)}")
    return lines


def found_text(result: LookupResult) -> str:
    """What was found (never a claim about what the photo holds) and what is shown."""
    text = f"I found {result.found} face{'s' if result.found != 1 else ''}"
    if result.skipped:
        text += f": here are the {len(result.faces)} largest ({result.skipped} more not searched)"
    return text + "."


def scale_text(scale: LookalikeScale | None) -> str:
    if scale is None:
        return "(this index has no look-alike scale: rebuild it with faces_extra in the data root)"
    return "(" + "; ".join(rule for _, rule in ENGLISH.legend(scale)) + ")"


def report_text(engine: LookalikeEngine, photo: Path, result: LookupResult, written: WrittenCards) -> str:
    if not result.faces:
        return f"{photo}: {NO_FACE_MESSAGE}"
    lines = [f"{photo}: {found_text(result)}"]
    if written.overview is not None:
        lines.append(f"  overview (faces numbered): {written.overview}")
    for number, (face_matches, card) in enumerate(zip(result.faces, written.cards, strict=True), start=1):
        face = face_matches.face
        box = ", ".join(f"{v:.0f}" for v in face.box)
        lines.append(f"{photo}: face {number} of {len(result.faces)} "
                     f"(box {box}, detector score {face.score:.2f})")
        lines.extend(face_table(face_matches, engine.gallery.scale))
        if face_matches.named is not None:
            named, scale = face_matches.named, engine.named.scale if engine.named is not None else None
            lines.append(f"  closest named celebrity: {named.name} ({named.image_id}), similarity "
                         f"{named.similarity:.3f}, {band_name(named.similarity, scale)}")
        lines.append(f"  card: {card}")
    lines.append(scale_text(engine.gallery.scale))
    return "\n".join(lines)


def match_json(match: Match) -> dict[str, Any]:
    return {"rank": match.rank, "identity": match.identity, "name": match.name or None,
            "image_id": match.image_id, "similarity": round(match.similarity, 4)}


def report_json(engine: LookalikeEngine, photo: Path, result: LookupResult,
                written: WrittenCards) -> dict[str, Any]:
    scale = engine.gallery.scale
    return {
        "photo": str(photo),
        "message": None if result.faces else NO_FACE_MESSAGE,
        "found_faces": result.found,
        "skipped_faces": result.skipped,
        "overview": str(written.overview) if written.overview is not None else None,
        "scale": asdict(scale) if scale is not None else None,
        "faces": [
            {
                "number": face_matches.number,
                "box": [round(float(v), 1) for v in face_matches.face.box],
                "score": round(face_matches.face.score, 4),
                "card": str(card),
                "matches": [{**match_json(m), "band": band_name(m.similarity, scale)} for m in face_matches.matches],
                "named": match_json(face_matches.named) if face_matches.named is not None else None,
            }
            for face_matches, card in zip(result.faces, written.cards, strict=True)
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
    written = write_cards(engine, rgb, result, photo, args.out)
    if args.json:
        print(json.dumps(report_json(engine, photo, result, written)))
    else:
        print(report_text(engine, photo, result, written))
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
    return query_photos(LookalikeEngine(pipeline, gallery, named_gallery(gallery, pipeline, args.index)), [args.photo],
                        args)


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

    add_compare_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
