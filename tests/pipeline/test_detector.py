import cv2
import numpy as np
import pytest

from pipeline.boxes import box_iou
from pipeline.detector import (
    FaceDetector,
    TilingConfig,
    cut_by_tile_edge,
    decode_predictions,
    letterbox,
    merge_detections,
    non_max_suppression,
    tile_starts,
    tile_windows,
)


def test_letterbox_keeps_aspect_and_pads_to_stride() -> None:
    image = np.zeros((384, 256, 3), np.uint8)
    padded, scale = letterbox(image, 320)
    assert scale == 320 / 384
    assert padded.shape == (320, 224, 3)  # 256 * 320/384 = 213.3 -> 213, padded to 224


def test_decode_keeps_confident_boxes_and_suppresses_overlaps() -> None:
    # cx, cy, w, h, objectness, class probability
    raw = np.array([[[50, 50, 20, 20, 0.9, 1.0],
                     [51, 50, 20, 20, 0.8, 1.0],     # overlaps the first: suppressed
                     [150, 150, 30, 30, 0.7, 1.0],
                     [10, 10, 5, 5, 0.2, 1.0]]], np.float32)     # below threshold
    found = decode_predictions(raw, conf_threshold=0.5, iou_threshold=0.45, max_det=10)[0]
    assert found.shape == (2, 5)
    np.testing.assert_allclose(found[0], [40, 40, 60, 60, 0.9], rtol=1e-6)
    np.testing.assert_allclose(found[1, :4], [135, 135, 165, 165])


@pytest.mark.parametrize("iou_threshold", [0.3, 0.45, 0.7])
def test_suppression_keeps_what_torchvision_keeps(iou_threshold: float) -> None:
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    rng = np.random.default_rng(0)
    corners = rng.uniform(0, 200, (300, 2)).astype(np.float32)
    boxes = np.concatenate([corners, corners + rng.uniform(10, 60, (300, 2)).astype(np.float32)], axis=1)
    scores = rng.uniform(0, 1, 300).astype(np.float32)
    expected = torchvision.ops.nms(torch.from_numpy(boxes), torch.from_numpy(scores), iou_threshold).numpy()
    np.testing.assert_array_equal(non_max_suppression(boxes, scores, iou_threshold), expected)


def test_tiles_cover_the_side_with_the_overlap_asked_for() -> None:
    starts = tile_starts(1000, tile=320, overlap=100)

    assert starts[0] == 0 and starts[-1] == 1000 - 320
    assert all(320 - (b - a) >= 100 for a, b in zip(starts, starts[1:], strict=False))
    assert tile_starts(300, tile=320, overlap=100) == [0]
    assert len(tile_windows(700, 1000, tile=320, overlap=100)) == len(starts) * len(tile_starts(700, 320, 100))


def test_only_boxes_cut_by_an_inner_tile_edge_are_dropped() -> None:
    window = (300, 0, 620, 320)  # a tile at the top of a 1000 x 1000 image, with neighbours left and right
    boxes = np.array([[0, 50, 40, 90, 0.9],      # touches the left edge, inside the image: cut
                      [100, 0, 140, 40, 0.9],    # touches the top edge, which is the image's: whole
                      [100, 100, 140, 140, 0.9],  # inside: whole
                      [290, 100, 320, 140, 0.9]], np.float32)  # touches the right edge: cut

    assert cut_by_tile_edge(boxes, window, 1000, 1000).tolist() == [True, False, False, True]


def test_merging_keeps_one_box_per_face() -> None:
    found = np.array([[100, 100, 200, 220, 0.9],   # a face
                      [104, 98, 203, 222, 0.8],    # the same face from another tile
                      [110, 110, 160, 150, 0.7],   # part of it, seen at another scale
                      [300, 100, 400, 220, 0.6]], np.float32)  # another face

    merged = merge_detections(found, iou_threshold=0.45, containment=0.7)

    np.testing.assert_array_equal(merged, found[[0, 3]])


def test_photos_up_to_853_px_are_read_once_as_before() -> None:
    tiling = TilingConfig()

    assert tiling.detail_scale(480, 640, 320) is None  # the one-face 640-px photo keeps its cost
    assert tiling.detail_scale(384, 256, 320) is None  # CelebA's photos: the evaluation is unchanged
    assert tiling.detail_scale(1200, 1600, 320) is not None
    assert 1200 * 1600 * tiling.detail_scale(1200, 1600, 320) ** 2 <= tiling.max_pixels * 1.001


def grid_of(photo: np.ndarray, columns: int, rows: int, width: int) -> np.ndarray:
    """columns x rows copies of a photo, scaled to `width` pixels."""
    grid = np.concatenate([np.concatenate([photo] * columns, axis=1)] * rows, axis=0)
    return cv2.resize(grid, (width, round(width * grid.shape[0] / grid.shape[1])), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def group_photo(celeba_photo: np.ndarray) -> np.ndarray:
    """12 copies of a one-face CelebA photo in a 4 x 3 grid, 1600 px wide."""
    return grid_of(celeba_photo, 4, 3, 1600)


def cell_of_each_box(boxes: np.ndarray, photo: np.ndarray) -> list[tuple[int, int]]:
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    return [(int(x // (photo.shape[1] / 4)), int(y // (photo.shape[0] / 3))) for x, y in centres]


def test_faces_across_small_tiles_are_found_once_each(face_pipeline, group_photo: np.ndarray) -> None:
    """With 320-px tiles, most faces of the collage cross a tile edge: each is still found exactly once, as
    one 1024-px tile finds it."""
    model, config = face_pipeline.detector.forward, face_pipeline.detector.config
    small_tiles = FaceDetector(model, config, TilingConfig(tile=320, overlap=160))
    one_tile = FaceDetector(model, config, TilingConfig(tile=4096))
    scale = small_tiles.tiling.detail_scale(*group_photo.shape[:2], config.input_size)

    assert scale is not None
    windows = tile_windows(round(group_photo.shape[0] * scale), round(group_photo.shape[1] * scale), 320, 160)
    assert len(windows) >= 9
    tiled, _ = small_tiles.detect(group_photo)
    whole, _ = one_tile.detect(group_photo)
    cells = cell_of_each_box(tiled, group_photo)

    assert sorted(cells) == sorted({(x, y) for x in range(4) for y in range(3)})  # 12 faces, none twice
    assert box_iou(tiled, tiled)[~np.eye(len(tiled), dtype=bool)].max() < 0.1
    assert len(whole) == len(tiled) and (box_iou(tiled, whole).max(axis=1) > 0.7).all()


def test_the_detail_pass_finds_faces_the_first_pass_misses(face_pipeline, celeba_photo: np.ndarray) -> None:
    model, config = face_pipeline.detector.forward, face_pipeline.detector.config
    first_pass_only = FaceDetector(model, config, TilingConfig(max_pixels=0))
    crowd = grid_of(celeba_photo, 6, 5, 1600)  # faces about 1/25 of the width

    assert len(face_pipeline.detector.detect(crowd)[0]) == 30
    assert len(first_pass_only.detect(crowd)[0]) < 15


def test_a_portrait_is_one_or_two_large_faces() -> None:
    tiling = TilingConfig()
    large, small = [0, 0, 300, 360], [0, 0, 100, 120]  # in a 1280 x 960 photo: 0.23 and 0.08 of its side
    assert tiling.is_portrait(np.array([large], np.float32), 960, 1280)
    assert tiling.is_portrait(np.array([large, large], np.float32), 960, 1280)
    assert not tiling.is_portrait(np.zeros((0, 4), np.float32), 960, 1280)  # nothing found: look closer
    assert not tiling.is_portrait(np.array([large] * 3, np.float32), 960, 1280)  # a group
    assert not tiling.is_portrait(np.array([large, small], np.float32), 960, 1280)  # small faces: maybe more


class CountingRunner:
    """The detector's runner, counting the network runs."""

    def __init__(self, forward) -> None:
        self.forward, self.runs = forward, 0

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.runs += 1
        return self.forward(batch)


def test_a_large_portrait_is_read_once_and_a_group_in_detail(face_pipeline, celeba_photo: np.ndarray) -> None:
    """The common phone photo (one large face, 1280 px) costs one 320-px run, as before the detail pass."""
    runner = CountingRunner(face_pipeline.detector.forward)
    detector = FaceDetector(runner, face_pipeline.detector.config)
    portrait = cv2.resize(celeba_photo, None, fx=1280 / max(celeba_photo.shape[:2]),
                          fy=1280 / max(celeba_photo.shape[:2]), interpolation=cv2.INTER_CUBIC)
    assert detector.tiling.detail_scale(*portrait.shape[:2], detector.config.input_size) is not None

    assert len(detector.detect(portrait)[0]) == 1
    assert runner.runs == 1
    assert len(detector.detect(grid_of(celeba_photo, 6, 5, 1600))[0]) == 30
    assert runner.runs > 2


def test_tiles_are_no_larger_than_they_need_to_be() -> None:
    """A scaled photo a little wider than one tile is read as two tiles of about half its width each (sharing
    the overlap), not as two full tiles."""
    windows = tile_windows(566, 1131, tile=1024, overlap=160)

    assert [(x1, x2) for x1, _, x2, _ in windows] == [(0, 646), (485, 1131)]
    assert sum((x2 - x1) * (y2 - y1) for x1, y1, x2, y2 in windows) < 1.2 * 566 * 1131
    for height, width in [(1000, 700), (2000, 1500), (4000, 3000), (1025, 1024)]:
        windows = tile_windows(height, width, tile=1024, overlap=160)
        xs = sorted({(x1, x2) for x1, _, x2, _ in windows})
        assert xs[0][0] == 0 and xs[-1][1] == width and all(x2 - x1 <= 1024 for x1, x2 in xs)
        assert all(a2 - b1 >= 160 for (_, a2), (b1, _) in zip(xs, xs[1:], strict=False))  # overlap kept
