"""Build the gallery index from a CelebA root: each photo's celebrity face, aligned, embedded, searchable.

    python -m index.build --data-root ../shared/data --out index_data [--limit N] [--batch 64] [--threads 1]

In-the-wild photos (celeba/img_celeba): the detector finds the faces and the celebrity's is the one that
best overlaps the photo's list_bbox_celeba.txt row; if none overlaps, the annotated box itself is used; a
photo without a row takes its largest face. Aligned photos (img_align_celeba, from celeba_align_small/ when
present): the face fills the frame at a known place, so no detector runs; a box around CelebA's aligned
landmark positions goes straight to the landmark model. A photo id in both folders is indexed once, from
the in-the-wild photo. Photos without a face are counted and listed; unreadable files are skipped with a
warning. The directory's layout is described in index.gallery.

With faces_extra in the data root (index/extra.py), the build also measures each gallery's look-alike scale on
people in no gallery (index/scale.py, scale.json) and, unless --no-named, builds the named people's gallery
in NAMED_DIR, checked on held-out photos of them (its manifest's `held_out_top1`).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import shutil
import sys
import time
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import faiss
import numpy as np
import pandas as pd
from tqdm import tqdm

from index.extra import ExtraConfig, ExtraSplit, extra_folder, pipeline_crops, read_crop, split_extra
from index.gallery import (
    CROPS_FILE,
    INDEX_FILE,
    MANIFEST_FILE,
    METADATA_FILE,
    NAMED_DIR,
    SCALE_FILE,
    Gallery,
    create_faiss_index,
)
from index.scale import ScaleConfig, measure_scale, write_scale
from pipeline import FacePipeline, settings
from pipeline.embedder import EMBED_BATCH
from pipeline.image import encode_jpeg
from pipeline.photo import PhotoError, PhotoLimits, read_photo
from pipeline.settings import data_root
from readers import CelebA, DataPaths
from readers.celeba import LANDMARK_COLUMNS, aligned_points, celebrity_face

logger = logging.getLogger(__name__)

SOURCES = ("wild", "align")
CROP_JPEG_QUALITY = 90
# Photos keep their file size (no downscaling) so that boxes stay in the pixels of list_bbox_celeba.txt.
BUILD_PHOTO_LIMITS = PhotoLimits(max_side_after_decode=1 << 16)



@dataclass
class GalleryFace:
    """The celebrity's face in one photo, before embedding."""

    image_id: str
    identity: int
    partition: int
    source: str  # "wild" or "align"; a named face's collection ("pubfig", "tmdb", ...)
    # "detector", "annotation" (the list_bbox row: no detection overlapped it), "geometry" (aligned photo) or
    # "aligned" (a named face: the crop came aligned)
    box_from: str
    box: np.ndarray
    score: float  # detector confidence; NaN when the box did not come from the detector
    landmarks: np.ndarray
    crop: np.ndarray
    name: str = ""  # a named person's; CelebA's people have numbers only


@dataclass
class SkippedPhotos:
    no_face: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)


def celebrity_box(pipeline: FacePipeline, celeba: CelebA, image_id: str,
                  rgb: np.ndarray) -> tuple[np.ndarray, float, str] | None:
    """(box, detector score, box_from) of the celebrity's face in an in-the-wild photo (readers.celeba's
    celebrity_face), the annotated box when the detector missed it, or None."""
    boxes, scores = pipeline.detector.detect(rgb)
    annotated = celeba.annotated_box(image_id)
    chosen = celebrity_face(boxes, annotated)
    if chosen is not None:
        return boxes[chosen], float(scores[chosen]), "detector"
    return (annotated, math.nan, "annotation") if annotated is not None else None


def face_box(pipeline: FacePipeline, celeba: CelebA, source: str, image_id: str,
             rgb: np.ndarray) -> tuple[np.ndarray, float, str] | None:
    """(box, detector score, box_from) of the celebrity's face in a photo of either source, or None."""
    if source == "wild":
        return celebrity_box(pipeline, celeba, image_id, rgb)
    points = aligned_points(celeba, image_id, rgb.shape[1])
    return pipeline.landmarks.box_around_points(points), math.nan, "geometry"


def photo_faces(pipeline: FacePipeline, celeba: CelebA, source: str, image_ids: Iterable[str],
                skipped: SkippedPhotos) -> Iterator[GalleryFace]:
    """The celebrity's face in each photo of one source, with a progress bar; records photos skipped."""
    folder = celeba.photo_dir(source)
    for image_id in tqdm(image_ids, desc=f"{source} photos", unit="photo"):
        try:
            rgb = read_photo(folder / image_id, BUILD_PHOTO_LIMITS)
        except (PhotoError, OSError) as error:
            logger.warning("skipping unreadable photo %s: %s", folder / image_id, error)
            skipped.corrupt.append(image_id)
            continue
        found = face_box(pipeline, celeba, source, image_id, rgb)
        if found is None:
            skipped.no_face.append(image_id)
            continue
        box, score, box_from = found
        landmarks, crops = pipeline.faces_in_box(rgb, box[None])
        yield GalleryFace(
            image_id=image_id, identity=int(celeba.identities[image_id]),
            partition=int(celeba.partitions.get(image_id, -1)), source=source, box_from=box_from,
            box=np.asarray(box, np.float32), score=score, landmarks=landmarks[0], crop=crops[0],
        )


def gallery_faces(pipeline: FacePipeline, paths: DataPaths, sources: Iterable[str], limit: int | None,
                  only: set[str] | None, skipped: SkippedPhotos) -> Iterator[GalleryFace]:
    """Faces of all sources in order; a photo id already taken from an earlier source is not taken again."""
    taken: set[str] = set()
    for source in sources:
        celeba = paths.celeba_for(source)
        candidates = [i for i in celeba.labelled_photos(source) if only is None or i in only]
        image_ids = [i for i in candidates if i not in taken][:limit]
        taken.update(image_ids)
        yield from photo_faces(pipeline, celeba, source, image_ids, skipped)


def chunks(items: Iterable[GalleryFace], size: int) -> Iterator[list[GalleryFace]]:
    chunk: list[GalleryFace] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def metadata_row(face: GalleryFace, crop_offset: int, crop_size: int) -> dict[str, Any]:
    x1, y1, x2, y2 = (round(float(v), 1) for v in face.box)
    points = face.landmarks.reshape(-1)
    return {
        "image_id": face.image_id, "identity": face.identity, "name": face.name, "partition": face.partition,
        "source": face.source, "box_from": face.box_from, "x1": x1, "y1": y1, "x2": x2, "y2": y2,
        "score": round(face.score, 4),
        **{name: round(float(v), 1) for name, v in zip(LANDMARK_COLUMNS, points, strict=True)},
        "crop_offset": crop_offset, "crop_size": crop_size,
    }


def append_crops(faces: list[GalleryFace], crops_file: IO[bytes]) -> list[dict[str, Any]]:
    """JPEG-encode the faces' crops onto the end of crops.bin; return their metadata rows."""
    rows = []
    for face in faces:
        data = encode_jpeg(face.crop, CROP_JPEG_QUALITY)
        rows.append(metadata_row(face, crops_file.tell(), len(data)))
        crops_file.write(data)
    return rows


def named_faces(pipeline: FacePipeline, folder: Path, rows: pd.DataFrame) -> Iterator[GalleryFace]:
    """The named gallery's faces: faces_extra crops cut again as the pipeline cuts a face (index/extra.py)."""
    whole = np.array([0, 0, 112, 112], np.float32)
    for row in tqdm(list(rows.itertuples(index=False)), desc="named faces", unit="face"):
        landmarks, crop = pipeline.face_near_points(read_crop(folder, row.path), row.points)
        yield GalleryFace(image_id=row.path, identity=int(row.identity), partition=-1, source=row.source,
                          box_from="aligned", box=whole, score=float(row.score), landmarks=landmarks, crop=crop,
                          name=row.name)


def write_gallery(pipeline: FacePipeline, faces: Iterable[GalleryFace], out_dir: Path,
                  batch_size: int) -> Gallery | None:
    """faces.index, faces.csv and crops.bin of `faces` in `out_dir` (no manifest yet); the gallery, or None
    when there was no face."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    vectors: list[np.ndarray] = []
    with open(out_dir / CROPS_FILE, "wb") as crops_file:
        for batch in chunks(faces, batch_size):
            vectors.append(pipeline.embed_crops(np.stack([face.crop for face in batch]), batch_size))
            rows.extend(append_crops(batch, crops_file))
    if not rows:
        return None
    embeddings = np.concatenate(vectors)
    index = create_faiss_index(embeddings.shape[1], len(embeddings))
    index.add(embeddings)
    faiss.write_index(index, str(out_dir / INDEX_FILE))
    metadata = pd.DataFrame(rows)
    metadata.to_csv(out_dir / METADATA_FILE, index=False)
    return Gallery(index, metadata, np.zeros(0, np.uint8), {})


def write_manifest(out_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
    return manifest


def unseen_people_text(split: ExtraSplit) -> str:
    counts = split.unseen["source"].value_counts()
    return "faces_extra, one photo each: " + ", ".join(f"{count} {source}" for source, count in counts.items())


def build_named(pipeline: FacePipeline, folder: Path, split: ExtraSplit, out_dir: Path, batch_size: int,
                unseen: np.ndarray, scale_config: ScaleConfig) -> dict[str, Any]:
    """The named people's gallery in `out_dir`, its scale, and how often a held-out photo of a named person
    finds that person first (`held_out_top1`); its manifest."""
    started = time.perf_counter()
    (out_dir / MANIFEST_FILE).unlink(missing_ok=True)
    gallery = write_gallery(pipeline, named_faces(pipeline, folder, split.gallery), out_dir, batch_size)
    if gallery is None:
        raise RuntimeError(f"No named face in {folder}: build with --no-named.")
    write_scale(out_dir, measure_scale(gallery, unseen, scale_config), unseen_people_text(split))
    held_out = pipeline.embed_crops(pipeline_crops(pipeline, folder, split.held_out), batch_size)
    found = [str(gallery.names[gallery.nearest(vector, 1)[0][0]]) for vector in held_out]
    return write_manifest(out_dir, {
        "weights_fingerprint": pipeline.fingerprint,
        "embedding_size": int(held_out.shape[1]) if len(held_out) else pipeline.embedder.config.embedding_size,
        "count": len(gallery),
        "people": int(split.gallery["name"].nunique()),
        "index_type": type(gallery.index).__name__,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(time.perf_counter() - started, 1),
        "sources": {source: str(folder / source) for source in sorted(split.gallery["source"].unique())},
        "held_out": split.held_out["path"].tolist(),
        "held_out_top1": round(float(np.mean(np.array(found) == split.held_out["name"].to_numpy())), 4)
        if found else None,
    })


def build_index(pipeline: FacePipeline, data_root: str | Path, out_dir: str | Path, limit: int | None = None,
                batch_size: int = EMBED_BATCH, sources: Iterable[str] = SOURCES,
                image_ids: Collection[str] | None = None, named: bool = False,
                extra: ExtraConfig | None = None, scale: ScaleConfig | None = None) -> dict[str, Any]:
    """Build the index directory `out_dir` from the CelebA photos under `data_root`; return its manifest.

    `limit` takes at most that many photos from each source; `image_ids` restricts the build to those photos.
    With faces_extra in `data_root`, each gallery gets its look-alike scale, and `named` adds the named
    gallery (`extra`: which faces go where).
    """
    started = time.perf_counter()
    paths, out_dir, sources = DataPaths.from_root(data_root), Path(out_dir), list(sources)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST_FILE).unlink(missing_ok=True)  # the old index is invalid from here on
    only = set(image_ids) if image_ids is not None else None
    skipped = SkippedPhotos()
    gallery = write_gallery(pipeline, gallery_faces(pipeline, paths, sources, limit, only, skipped), out_dir,
                            batch_size)
    if gallery is None:
        raise RuntimeError(f"No face found in any photo under {paths.root}: nothing to index.")
    folder, scale = extra_folder(paths.root), scale or ScaleConfig()
    (out_dir / SCALE_FILE).unlink(missing_ok=True)
    named_manifest = None
    if folder is not None:
        split = split_extra(folder, extra or ExtraConfig())
        unseen = pipeline.embed_crops(pipeline_crops(pipeline, folder, split.unseen), batch_size)
        write_scale(out_dir, measure_scale(gallery, unseen, scale), unseen_people_text(split))
        if named:
            named_manifest = build_named(pipeline, folder, split, out_dir / NAMED_DIR, batch_size, unseen, scale)
    else:
        logger.warning("no faces_extra in %s: the index gets no look-alike scale (grey cards) and no named "
                       "gallery", paths.root)
    if named_manifest is None:
        shutil.rmtree(out_dir / NAMED_DIR, ignore_errors=True)
    return write_manifest(out_dir, {
        "weights_fingerprint": pipeline.fingerprint,
        "embedding_size": int(gallery.index.d),
        "count": len(gallery),
        "index_type": type(gallery.index).__name__,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_seconds": round(time.perf_counter() - started, 1),
        "data_root": str(paths.root),
        "sources": {source: str(paths.celeba_for(source).photo_dir(source)) for source in sources},
        "photos_without_face_count": len(skipped.no_face),
        "photos_without_face": skipped.no_face,
        "corrupt_files_skipped": skipped.corrupt,
        "scale": (out_dir / SCALE_FILE).is_file(),
        "named": NAMED_DIR if named_manifest is not None else None,
    })


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Where a build reads its photos and how many threads it uses (`build-index` and `demo`)."""
    parser.add_argument("--data-root", help="folder holding celeba/ (and celeba_align_small/); "
                                            "default $LOOKALIKE_DATA_ROOT")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads inside each model call (default 1: on a busy machine, more threads "
                             "make the small per-photo calls much slower, not faster)")
    parser.add_argument("--named", action=argparse.BooleanOptionalAction, default=None,
                        help="add the named people of faces_extra as a second gallery (default: when the data "
                             "root has faces_extra)")


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    """The build options, shared by `python -m index.build` and `lookalike build-index`."""
    add_data_arguments(parser)
    parser.add_argument("--out", type=Path, default=settings.index_dir(),
                        help="index directory to write (default $LOOKALIKE_INDEX_DIR, else index_data/)")
    parser.add_argument("--weights", type=Path, default=settings.weights_dir(),
                        help="model weights folder (default $LOOKALIKE_WEIGHTS_DIR, else the committed ones)")
    parser.add_argument("--limit", type=int, help="at most N photos from each source (for trials)")
    parser.add_argument("--batch", type=int, default=EMBED_BATCH,
                        help=f"crops per embedder call (default {EMBED_BATCH}: the fastest on one thread)")
    parser.add_argument("--sources", nargs="+", choices=SOURCES, default=list(SOURCES),
                        help="wild: celeba/img_celeba; align: img_align_celeba (default both)")


def summary(manifest: dict[str, Any], out_dir: Path) -> str:
    text = (f"Indexed {manifest['count']} faces into {out_dir}/ ({manifest['index_type']}) in "
            f"{manifest['build_seconds']:.0f} s; {manifest['photos_without_face_count']} photos without a "
            f"face, {len(manifest['corrupt_files_skipped'])} unreadable files skipped.")
    if manifest["named"]:
        named = json.loads((out_dir / manifest["named"] / MANIFEST_FILE).read_text())
        text += f" Named gallery: {named['count']} faces of {named['people']} people"
        if named["held_out"]:
            text += (f"; a held-out photo of a named person finds that person first in {named['held_out_top1']:.0%}"
                     f" of {len(named['held_out'])}")
        text += "."
    return text


def build_command(args: argparse.Namespace, pipeline: FacePipeline, out_dir: Path, **options: Any) -> int:
    """Build from --data-root with `pipeline` and print a summary; 2 when there is no data root."""
    try:
        root = data_root(args.data_root)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 2
    named = args.named if args.named is not None else extra_folder(root) is not None
    print(summary(build_index(pipeline, root, out_dir, named=named, **options), out_dir))
    return 0


def run_build(args: argparse.Namespace) -> int:
    return build_command(args, FacePipeline.load(args.weights, threads=args.threads), args.out, limit=args.limit,
                         batch_size=args.batch, sources=args.sources)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m index.build", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_build_arguments(parser)
    return run_build(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
