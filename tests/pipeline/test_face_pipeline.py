"""FacePipeline on real CelebA test photos with the committed weights."""

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline import Face, FacePipeline
from pipeline.image import read_rgb

# Two test-partition photos of one identity and one photo of another (fixed pair, checked for our model).
SAME_A, SAME_B, OTHER = "187904.jpg", "191480.jpg", "182709.jpg"


def read(data_root: Path, image_id: str) -> np.ndarray:
    return read_rgb(data_root / "celeba" / "img_celeba" / image_id)


def test_a_real_photo_gives_a_complete_face(face_pipeline: FacePipeline, celeba_photo: np.ndarray) -> None:
    faces = face_pipeline(celeba_photo)
    assert len(faces) >= 1
    face = faces[0]
    assert isinstance(face, Face)
    x1, y1, x2, y2 = face.box
    assert 0 <= x1 < x2 <= celeba_photo.shape[1] and 0 <= y1 < y2 <= celeba_photo.shape[0]
    assert 0.0 < face.score <= 1.0
    assert face.landmarks.shape == (5, 2)
    inside = (face.landmarks[:, 0] >= x1) & (face.landmarks[:, 0] <= x2)
    inside &= (face.landmarks[:, 1] >= y1) & (face.landmarks[:, 1] <= y2)
    assert inside.all()
    assert face.landmarks[0, 0] < face.landmarks[1, 0]  # left eye on the image's left
    assert face.crop.shape == (112, 112, 3) and face.crop.dtype == np.uint8
    assert face.embedding.dtype == np.float32
    assert np.linalg.norm(face.embedding) == pytest.approx(1.0, abs=1e-4)


def test_faces_come_largest_first(face_pipeline: FacePipeline, data_root: Path) -> None:
    photo = read(data_root, "000093.jpg")  # two people in the frame
    faces = face_pipeline(photo)
    areas = [f.area for f in faces]
    assert areas == sorted(areas, reverse=True)


def test_grayscale_and_rgba_inputs(face_pipeline: FacePipeline, celeba_photo: np.ndarray) -> None:
    gray = cv2.cvtColor(celeba_photo, cv2.COLOR_RGB2GRAY)
    assert len(face_pipeline(gray)) >= 1
    rgba = np.dstack([celeba_photo, np.full(celeba_photo.shape[:2], 255, np.uint8)])
    colour = face_pipeline(celeba_photo)[0]
    from_rgba = face_pipeline(rgba)[0]
    np.testing.assert_allclose(from_rgba.embedding, colour.embedding, atol=1e-5)


def test_flat_gray_image_has_no_face(face_pipeline: FacePipeline) -> None:
    assert face_pipeline(np.full((480, 640, 3), 128, np.uint8)) == []


def test_same_person_is_closer_than_another(face_pipeline: FacePipeline, data_root: Path) -> None:
    a, b, other = (face_pipeline(read(data_root, name))[0].embedding for name in (SAME_A, SAME_B, OTHER))
    assert float(a @ b) > float(a @ other)
    assert float(a @ b) > face_pipeline.verification_threshold > float(a @ other)


def test_batched_crops_match_single_calls(face_pipeline: FacePipeline, celeba_photo: np.ndarray) -> None:
    face = face_pipeline(celeba_photo)[0]
    batch = face_pipeline.embed_crops(np.stack([face.crop, face.crop[:, ::-1].copy()]))
    assert batch.shape == (2, face.embedding.shape[0])
    np.testing.assert_allclose(batch[0], face.embedding, atol=1e-5)


class CountingLandmarks:
    """The pipeline's landmark regressor, counting the boxes it is asked about."""

    def __init__(self, landmarks) -> None:
        self.landmarks = landmarks
        self.boxes = 0

    def predict(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        self.boxes += len(boxes)
        return self.landmarks.predict(image, boxes)


def test_a_face_limit_bounds_the_landmark_and_embedding_work(face_pipeline: FacePipeline, data_root: Path) -> None:
    first, second = read(data_root, SAME_A), read(data_root, OTHER)
    height = min(first.shape[0], second.shape[0])
    photo = np.concatenate([first[:height], second[:height]], axis=1)  # two people side by side
    every = face_pipeline.find(photo)
    counting = CountingLandmarks(face_pipeline.landmarks)
    bounded = dataclasses.replace(face_pipeline, landmarks=counting).find(photo, max_faces=1)
    assert every.found == bounded.found == 2
    assert (len(bounded.faces), len(bounded.skipped_boxes), counting.boxes) == (1, 1, 1)
    np.testing.assert_allclose(bounded.faces[0].embedding, every.faces[0].embedding, atol=1e-5)
    np.testing.assert_array_equal(bounded.skipped_boxes[0], every.faces[1].box)
