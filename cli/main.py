"""`lookalike`: who do you look like, from the command line (the same answer the bot sends).

    lookalike demo --data-root ../shared/data     build the index if missing, then query the example photo
    lookalike query PHOTO [PHOTO ...] [--top 8] [--out DIR] [--json]
    lookalike build-index --data-root ../shared/data [--out DIR] [--limit N]
    lookalike compare A.jpg [B.jpg] [--out DIR] [--json]   how similar two faces are
    lookalike serve [--host 127.0.0.1] [--port 8080]        the web page and its JSON API (web/)

The index directory is --index, else $LOOKALIKE_INDEX_DIR, else index_data/ in the current directory.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cli.compare import add_compare_command
from index.bands import LookalikeScale
from index.build import add_build_arguments, add_data_arguments, build_command, run_build
from index.engine import (
    FaceMatches,
    IndexMismatchError,
    LookalikeEngine,
    check_same_weights,
    named_gallery,
)
from index.gallery import Gallery, MissingIndexError
from pipeline import FacePipeline, settings
from pipeline.onnx_files import MissingOnnxError
from pipeline.photo import PhotoError
from reply.card import ENGLISH
from reply.replier import Replier, Reply
from reply.report import band_name, reply_json
from web.config import add_serve_arguments

EXAMPLE_PHOTO = Path(__file__).resolve().parents[1] / "examples" / "astronaut.jpg"
NO_FACE_MESSAGE = "no face found. Try a sharp, well-lit photo with a front-facing face that is not too small."


def add_query_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--top", type=int, default=settings.LOOKALIKES,
                        help=f"look-alikes per face (default {settings.LOOKALIKES})")
    parser.add_argument("--max-faces", type=int, default=settings.MAX_FACES,
                        help=f"faces searched per photo, largest first (default {settings.MAX_FACES})")
    parser.add_argument("--out", type=Path, default=Path("cards"),
                        help="folder for the result cards (default cards/)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per photo, not tables")
    parser.add_argument("--index", type=Path, default=settings.index_dir(),
                        help="index directory (default $LOOKALIKE_INDEX_DIR, else index_data/)")
    parser.add_argument("--weights", type=Path, default=settings.weights_dir(),
                        help="model weights folder (default $LOOKALIKE_WEIGHTS_DIR, else the committed ones)")


@dataclass
class WrittenCards:
    overview: Path | None  # OUT/<photo name>_overview.jpg, for a photo of several faces
    cards: list[Path]  # OUT/<photo name>_face<N>.jpg, one per face searched


def write_cards(reply: Reply, photo: Path, out_dir: Path) -> WrittenCards:
    """The overview (several faces) and one card JPEG per face, the bot's pictures byte for byte."""
    out_dir.mkdir(parents=True, exist_ok=True)
    overview_path = out_dir / f"{photo.stem}_overview.jpg" if reply.overview is not None else None
    if overview_path is not None:
        overview_path.write_bytes(reply.overview)
    paths = []
    for number, face in enumerate(reply.faces, start=1):
        path = out_dir / f"{photo.stem}_face{number}.jpg"
        path.write_bytes(face.card)
        paths.append(path)
    return WrittenCards(overview_path, paths)


def face_table(face_matches: FaceMatches, scale: LookalikeScale | None) -> list[str]:
    lines = [f"  {'rank':>4}  {'identity':>8}  {'image id':<12}  {'similarity':>10}  match"]
    for match in face_matches.matches:
        lines.append(f"  {match.rank:>4}  {match.identity:>8}  {match.image_id:<12}  "
                     f"{match.similarity:>10.3f}  {band_name(match.similarity, scale)}")
    return lines


def found_text(reply: Reply) -> str:
    """What was found (never a claim about what the photo holds) and what is shown."""
    text = f"I found {reply.found} face{'s' if reply.found != 1 else ''}"
    if reply.skipped:
        text += f": here are the {len(reply.faces)} largest ({reply.skipped} more not searched)"
    return text + "."


def scale_text(scale: LookalikeScale | None) -> str:
    if scale is None:
        return "(this index has no look-alike scale: rebuild it with faces_extra in the data root)"
    return "(" + "; ".join(rule for _, rule in ENGLISH.legend(scale)) + ")"


def report_text(engine: LookalikeEngine, photo: Path, reply: Reply, written: WrittenCards) -> str:
    if not reply.faces:
        return f"{photo}: {NO_FACE_MESSAGE}"
    lines = [f"{photo}: {found_text(reply)}"]
    if written.overview is not None:
        lines.append(f"  overview (faces numbered): {written.overview}")
    for number, (face, card) in enumerate(zip(reply.faces, written.cards, strict=True), start=1):
        found = face.found
        box = ", ".join(f"{v:.0f}" for v in found.face.box)
        lines.append(f"{photo}: face {number} of {len(reply.faces)} "
                     f"(box {box}, detector score {found.face.score:.2f})")
        lines.extend(face_table(found, engine.gallery.scale))
        if found.named is not None:
            named, scale = found.named, engine.named.scale if engine.named is not None else None
            lines.append(f"  closest named celebrity: {named.name} ({named.image_id}), similarity "
                         f"{named.similarity:.3f}, {band_name(named.similarity, scale)}")
        note = ENGLISH.note_for(face.issues)
        if note is not None:
            lines.append(f"  {note}")
        lines.append(f"  card: {card}")
    lines.append(scale_text(engine.gallery.scale))
    return "\n".join(lines)


def report_json(engine: LookalikeEngine, photo: Path, reply: Reply, written: WrittenCards) -> dict[str, Any]:
    named_scale = engine.named.scale if engine.named is not None else None
    return {"photo": str(photo),
            **reply_json(reply, engine.gallery.scale, named_scale, None if reply.faces else NO_FACE_MESSAGE,
                         str(written.overview) if written.overview is not None else None,
                         [str(card) for card in written.cards])}


def query_photo(replier: Replier, photo: Path, args: argparse.Namespace) -> int:
    """Print the look-alikes of every face in one photo and write its cards; 1 if the photo is unreadable."""
    try:
        reply = replier.reply(photo.read_bytes())
    except (PhotoError, OSError) as error:
        print(f"{photo}: cannot read this photo ({error})", file=sys.stderr)
        return 1
    written = write_cards(reply, photo, args.out)
    if args.json:
        print(json.dumps(report_json(replier.engine, photo, reply, written)))
    else:
        print(report_text(replier.engine, photo, reply, written))
    return 0


def query_photos(engine: LookalikeEngine, photos: list[Path], args: argparse.Namespace) -> int:
    replier = Replier(engine, lookalikes=args.top, max_faces=args.max_faces)
    return max(query_photo(replier, photo, args) for photo in photos)


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

    serve = commands.add_parser("serve", help="the web page and its JSON API (default http://127.0.0.1:8080/)")
    add_serve_arguments(serve)
    serve.set_defaults(handler=run_serve)
    return parser


def run_serve(args: argparse.Namespace) -> int:
    from web.server import serve  # aiohttp and the bot's texts: only for this command

    return serve(args)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except MissingOnnxError as error:  # new weights, not exported yet: say which command makes their files
        print(error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
