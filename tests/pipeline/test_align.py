import cv2
import numpy as np

from pipeline.align import ARCFACE_TEMPLATE, align_face, estimate_similarity


def similarity(scale: float, angle: float, shift: tuple[float, float]) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[scale * c, -scale * s, shift[0]], [scale * s, scale * c, shift[1]]])


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def test_recovers_a_known_similarity_transform() -> None:
    truth = similarity(2.5, 0.3, (40.0, -12.0))
    source = np.random.default_rng(0).uniform(0, 100, size=(5, 2))
    estimated = estimate_similarity(source, apply(truth, source))
    np.testing.assert_allclose(estimated, truth, atol=1e-4)


def test_least_squares_with_noise_stays_close() -> None:
    rng = np.random.default_rng(1)
    truth = similarity(0.7, -0.5, (3.0, 8.0))
    source = rng.uniform(0, 200, size=(5, 2))
    target = apply(truth, source) + rng.normal(0, 0.5, size=(5, 2))
    residual = apply(estimate_similarity(source, target), source) - target
    assert np.abs(residual).max() < 2.0


def test_a_mirrored_point_set_is_not_fitted_with_a_reflection() -> None:
    source = ARCFACE_TEMPLATE.copy()
    mirrored = source * [-1, 1]
    matrix = estimate_similarity(source, mirrored)
    assert np.linalg.det(matrix[:, :2]) > 0  # rotation + scale only, never a flip


def test_align_face_puts_landmarks_on_the_template() -> None:
    """Draw dots at template points moved by a known transform; aligning must bring them back."""
    forward = similarity(3.0, 0.2, (100.0, 50.0))
    points = apply(forward, ARCFACE_TEMPLATE)
    image = np.zeros((600, 600, 3), np.uint8)
    for x, y in points.round().astype(int):
        image[y - 3:y + 4, x - 3:x + 4] = 255
    crop = align_face(image, points)
    assert crop.shape == (112, 112, 3)
    for x, y in ARCFACE_TEMPLATE.round().astype(int):
        assert crop[y, x].min() > 200


def test_opencv_partial_affine_is_a_robust_fit_not_the_least_squares_one() -> None:
    """Why alignment keeps its own Umeyama fit (pipeline/align.py): with one point off by a few pixels, as on a
    turned head, OpenCV's estimateAffinePartial2D (RANSAC by default, LMedS too) sets that point aside and moves
    the crop by pixels, while the least-squares fit the embedder was trained on uses all five."""
    truth = similarity(2.0, 0.2, (150.0, 90.0))
    points = apply(truth, ARCFACE_TEMPLATE.astype(np.float64))
    points[4] += (9.0, -7.0)  # one mouth corner mispredicted
    ours = estimate_similarity(points, ARCFACE_TEMPLATE)
    for method in (cv2.RANSAC, cv2.LMEDS):
        theirs, _ = cv2.estimateAffinePartial2D(points.astype(np.float32), ARCFACE_TEMPLATE, method=method)
        assert np.abs(apply(theirs, points) - apply(ours, points)).max() > 1.0  # crop pixels apart
        squared = [((apply(m, points) - ARCFACE_TEMPLATE) ** 2).sum() for m in (ours, theirs)]
        assert squared[0] < squared[1]  # ours is the least-squares fit over all five points
