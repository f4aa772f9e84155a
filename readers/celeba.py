"""CelebA in its official layout, read unchanged.

    ROOT/img_celeba/*.jpg                 in-the-wild photos
    ROOT/img_align_celeba/*.jpg           aligned-and-cropped photos
    ROOT/Anno/list_bbox_celeba.txt        count line, header, `image_id x_1 y_1 width height`
    ROOT/Anno/list_landmarks_celeba.txt   count line, header, `image_id` + 10 coordinates
    ROOT/Anno/list_landmarks_align_celeba.txt
    ROOT/Anno/identity_CelebA.txt         `image_id identity`, no header
    ROOT/Eval/list_eval_partition.txt     `image_id partition` (0 train, 1 val, 2 test), no header
    ROOT/Anno/faces_all.csv               (this project's data) every face of every photo
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.boxes import paired_iou
from pipeline.settings import data_root

LANDMARK_COLUMNS = [
    "lefteye_x", "lefteye_y", "righteye_x", "righteye_y", "nose_x", "nose_y",
    "leftmouth_x", "leftmouth_y", "rightmouth_x", "rightmouth_y",
]
PARTITIONS = {"train": 0, "val": 1, "test": 2}
CELEBRITY_MIN_IOU = 0.3  # a face overlapping the annotated box less than this is someone else


def read_celeba_table(path: Path, columns: list[str]) -> pd.DataFrame:
    """Read a CelebA list file with a count line and a header line; index by image_id."""
    table = pd.read_csv(path, sep=r"\s+", skiprows=2, header=None, names=["image_id", *columns], dtype={0: str})
    return table.set_index("image_id")


def read_plain_pairs(path: Path, column: str) -> pd.Series:
    """Read a headerless `image_id value` file (identities, partitions) as an int Series."""
    table = pd.read_csv(path, sep=r"\s+", header=None, names=["image_id", column], dtype={"image_id": str})
    return table.set_index("image_id")[column].astype(np.int64)


@dataclass(frozen=True)
class CelebA:
    """One CelebA root. Tables load lazily; a table whose file is missing raises FileNotFoundError."""

    root: Path

    @property
    def wild_dir(self) -> Path:
        return self.root / "img_celeba"

    @property
    def align_dir(self) -> Path:
        return self.root / "img_align_celeba"

    def photo_dir(self, images: str = "wild") -> Path:
        """The folder of the in-the-wild ("wild") or the aligned ("align") photos."""
        return self.wild_dir if images == "wild" else self.align_dir

    def photos_on_disk(self, images: str = "wild") -> set[str]:
        folder = self.photo_dir(images)
        return {path.name for path in folder.glob("*.jpg")} if folder.is_dir() else set()

    @cached_property
    def partitions(self) -> pd.Series:
        return read_plain_pairs(self.root / "Eval" / "list_eval_partition.txt", "partition")

    @cached_property
    def identities(self) -> pd.Series:
        return read_plain_pairs(self.root / "Anno" / "identity_CelebA.txt", "identity")

    @cached_property
    def boxes(self) -> pd.DataFrame:
        """The celebrity's face per photo: x_1, y_1, width, height."""
        return read_celeba_table(self.root / "Anno" / "list_bbox_celeba.txt", ["x_1", "y_1", "width", "height"])

    @cached_property
    def landmarks(self) -> pd.DataFrame:
        return read_celeba_table(self.root / "Anno" / "list_landmarks_celeba.txt", LANDMARK_COLUMNS)

    @cached_property
    def align_landmarks(self) -> pd.DataFrame:
        return read_celeba_table(self.root / "Anno" / "list_landmarks_align_celeba.txt", LANDMARK_COLUMNS)

    @cached_property
    def faces_all(self) -> pd.DataFrame:
        """Every face in every photo: image_id, face, x1, y1, x2, y2, score and the 10 landmark columns."""
        return pd.read_csv(self.root / "Anno" / "faces_all.csv", dtype={"image_id": str})

    def image_ids(self, partition: str, images: str = "wild") -> list[str]:
        """Ids of the photos in a partition ('train', 'val', 'test') that exist on disk."""
        wanted = self.partitions[self.partitions == PARTITIONS[partition]].index
        present = self.photos_on_disk(images)
        return sorted(i for i in wanted if i in present)

    def labelled_photos(self, images: str = "wild") -> list[str]:
        """Ids of the photos with a known identity that exist on disk."""
        present = self.photos_on_disk(images)
        return sorted(image_id for image_id in self.identities.index if image_id in present)

    def annotated_box(self, image_id: str) -> np.ndarray | None:
        """The celebrity's annotated face as (x1, y1, x2, y2), or None (no such row, or no list_bbox file)."""
        try:
            boxes = self.boxes
        except FileNotFoundError:
            return None
        if image_id not in boxes.index:
            return None
        x, y, width, height = boxes.loc[image_id, ["x_1", "y_1", "width", "height"]].to_numpy(np.float32)
        return np.array([x, y, x + width, y + height], np.float32)

    def landmark_array(self, image_id: str, table: str = "wild") -> np.ndarray:
        """The five points of a photo as a (5, 2) float32 array."""
        source = self.landmarks if table == "wild" else self.align_landmarks
        return source.loc[image_id, LANDMARK_COLUMNS].to_numpy(np.float32).reshape(5, 2)


@dataclass(frozen=True)
class DataPaths:
    """Where the data sets are, all under one data root (a setting, never a path baked in code).

    The in-the-wild CelebA is ROOT/celeba. The aligned photos are ROOT/celeba_align_small when present
    (this workplace's half-size subset), else ROOT/celeba itself (the full official download holds both
    img_celeba and img_align_celeba). MTFL is ROOT/mtfl.
    """

    root: Path

    @classmethod
    def from_root(cls, explicit: str | Path | None = None) -> DataPaths:
        return cls(data_root(explicit))

    @property
    def celeba(self) -> CelebA:
        return CelebA(self.root / "celeba")

    @property
    def celeba_align(self) -> CelebA:
        small = self.root / "celeba_align_small"
        return CelebA(small if small.is_dir() else self.root / "celeba")

    def celeba_for(self, images: str) -> CelebA:
        """The CelebA root holding the in-the-wild ("wild") or the aligned ("align") photos."""
        return self.celeba if images == "wild" else self.celeba_align

    @property
    def mtfl(self) -> Path:
        return self.root / "mtfl"

    @property
    def faces_extra(self) -> Path:
        """ROOT/faces_extra: aligned crops from five public collections (readers/faces_extra.py)."""
        return self.root / "faces_extra"


# Mean of the official list_landmarks_align_celeba.txt for the 178x218 aligned photos (CelebA order); used
# to align `img_align_celeba` photos when that list is not present (it is not in the half-size subset).
ALIGNED_CELEBA_POINTS = np.array([[69, 111], [108, 111], [89, 135], [72, 152], [106, 152]], dtype=np.float32)
ALIGNED_CELEBA_WIDTH = 178


def aligned_points(celeba: CelebA, image_id: str, image_width: int) -> np.ndarray:
    """Landmarks of an aligned CelebA photo: the official row when the list exists, else the mean points."""
    try:
        return celeba.landmark_array(image_id, table="align") * (image_width / ALIGNED_CELEBA_WIDTH)
    except (FileNotFoundError, KeyError):
        return ALIGNED_CELEBA_POINTS * (image_width / ALIGNED_CELEBA_WIDTH)


def celebrity_face(boxes: np.ndarray, annotated: np.ndarray | None) -> int | None:
    """Which of the faces found in a photo (x1, y1, x2, y2 rows) is its celebrity, given the photo's annotated
    box (CelebA.annotated_box): the face overlapping it best, at IoU >= CELEBRITY_MIN_IOU; without an annotation,
    the largest. None when no face overlaps the annotation (the detector missed the celebrity) or there is no
    face: the index build then takes the annotated box, the evaluation the largest face (what the bot would
    answer)."""
    if len(boxes) == 0:
        return None
    if annotated is None:
        return int(np.argmax(np.prod(boxes[:, 2:4] - boxes[:, :2], axis=1)))
    overlaps = paired_iou(boxes, annotated)
    return int(np.argmax(overlaps)) if overlaps.max() >= CELEBRITY_MIN_IOU else None
