"""FacePipeline: image -> faces (box, score, 5 landmarks, aligned crop, unit embedding), largest first."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.align import align_face
from pipeline.config import PARTS, load_part_configs
from pipeline.detector import FaceDetector
from pipeline.embedder import EMBED_BATCH, Embedder
from pipeline.face import Face
from pipeline.image import to_rgb
from pipeline.landmarks import LandmarkRegressor
from pipeline.onnx_files import FINGERPRINT_FILE, exported_folder
from pipeline.runtime import onnx_runner
from pipeline.settings import DEFAULT_WEIGHTS_DIR


@dataclass
class FoundFaces:
    """The faces of a photo, largest first, and the boxes of those found beyond a limit (not embedded)."""

    faces: list[Face]
    skipped_boxes: list[np.ndarray] = field(default_factory=list)

    @property
    def found(self) -> int:
        return len(self.faces) + len(self.skipped_boxes)


@dataclass
class FacePipeline:
    """The three models behind one call.

    >>> pipe = FacePipeline.load()
    >>> faces = pipe(rgb_uint8_image)          # list[Face], largest first; [] when there is no face
    >>> vectors = pipe.embed_crops(crops)      # batched path for many aligned 112x112 crops

    Built from runners (pipeline/runtime.py): `load` runs the weights' ONNX files; training builds the same class
    around its PyTorch modules (training/reference.py).
    """

    detector: FaceDetector
    landmarks: LandmarkRegressor
    embedder: Embedder
    fingerprint: str  # of the weights and configs: an index is valid only for the weights that built it

    @classmethod
    def load(cls, weights_dir: str | Path | None = None, threads: int | None = None) -> FacePipeline:
        """The committed weights (or those in `weights_dir`) run from their ONNX files (pipeline/onnx_files.py:
        raises MissingOnnxError until `python -m training.export` made them). `threads`: threads inside one model
        call (default: torch's setting when torch is loaded, else one per physical core)."""
        folder = Path(weights_dir) if weights_dir is not None else DEFAULT_WEIGHTS_DIR
        detector, landmarks, embedder = load_part_configs(folder)
        onnx_dir = exported_folder(folder)
        runners = [onnx_runner(onnx_dir / f"{part}.onnx", threads) for part in PARTS]
        return cls(detector=FaceDetector(runners[0], detector), landmarks=LandmarkRegressor(runners[1], landmarks),
                   embedder=Embedder(runners[2], embedder), fingerprint=(onnx_dir / FINGERPRINT_FILE).read_text())
    @property
    def verification_threshold(self) -> float:
        return self.embedder.config.verification_threshold

    def __call__(self, image: np.ndarray) -> list[Face]:
        return self.find(image).faces

    def find(self, image: np.ndarray, max_faces: int | None = None) -> FoundFaces:
        """Every face the detector finds, largest first; only the `max_faces` largest (all when None) get their
        landmarks, crop and embedding, so that a crowd costs one detection plus `max_faces` faces."""
        rgb = to_rgb(image)
        boxes, scores = self.detector.detect(rgb)
        if len(boxes) == 0:
            return FoundFaces(faces=[])
        order = np.argsort(-(boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
        boxes, scores = boxes[order], scores[order]
        kept = len(boxes) if max_faces is None else max_faces
        skipped = list(boxes[kept:])
        boxes, scores = boxes[:kept], scores[:kept]
        points = self.landmarks.predict(rgb, boxes)
        crops = np.stack([align_face(rgb, p) for p in points])
        embeddings = self.embedder.embed(crops)
        faces = [Face(box=box, score=float(score), landmarks=pts, crop=crop, embedding=emb)
                 for box, score, pts, crop, emb in zip(boxes, scores, points, crops, embeddings, strict=True)]
        return FoundFaces(faces=faces, skipped_boxes=skipped)

    def embed_crops(self, crops: np.ndarray, batch_size: int = EMBED_BATCH) -> np.ndarray:
        """Embeddings for many aligned (N, 112, 112, 3) RGB uint8 crops at once."""
        return self.embedder.embed(crops, batch_size=batch_size)

    def face_near_points(self, image: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(landmarks (5, 2), aligned crop) of the one face whose five points are roughly known (an aligned photo,
        a crop made by another aligner): our landmark model in the box those points imply, then our alignment, so
        that the crop is cut as the pipeline cuts any face."""
        landmarks, crops = self.faces_in_box(image, self.landmarks.box_around_points(points)[None])
        return landmarks[0], crops[0]

    def faces_in_box(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Landmarks and aligned crops for given boxes (no detection): ((N, 5, 2), (N, 112, 112, 3))."""
        rgb = to_rgb(image)
        points = self.landmarks.predict(rgb, np.asarray(boxes, np.float32))
        crops = np.stack([align_face(rgb, p) for p in points]) if len(points) else np.zeros((0, 112, 112, 3), np.uint8)
        return points, crops

