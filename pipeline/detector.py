"""The yolov5 face detector (one class, "face") at inference: letterbox the photo, run the network, decode its
boxes and suppress overlaps, all on numpy arrays.

A large photo is read twice: whole at the model's input size (320 px: its large faces), then in detail, at a
larger scale, in overlapping tiles when the scaled photo is too large for one input (its small faces: the
network finds faces from about 24-32 input pixels wide, so a face 1/12 of a photo's width is lost at 320 px).
Boxes cut by a tile's inner edge are dropped (the overlap holds the whole face in a neighbouring tile) and the
rest merged across tiles and passes. The cost of the detail pass is bounded by a pixel budget (TilingConfig),
and it is skipped when the first pass shows a portrait: one or two faces, each large in the photo (the common
phone photo, which then costs one 320-px pass, as before the detail pass existed).

The network (yolov5's code, built from the yaml stored in the model's JSON config) lives in training/networks.py;
serving runs its exported ONNX graph (pipeline/onnx_files.py) and never imports torch or yolov5.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.boxes import clip_boxes, paired_iou
from pipeline.config import DetectorConfig
from pipeline.image import model_input
from pipeline.runtime import Runner

STRIDE = 32
PAD_VALUE = 114


@dataclass(frozen=True)
class TilingConfig:
    """When and how a large photo is read a second time, in detail (module docstring).

    The network's time is about linear in input pixels (105 ns a pixel on one core here: a 320x320 input 11 ms,
    1,000,000 pixels 105 ms), so `max_pixels` is the detail pass's time budget.
    """

    scale: float = 0.75  # input pixels per photo pixel, at most: a 40-px face lands at 30 px, which is found
    min_gain: float = 2.0  # only when the detail pass reads the photo at least this many times larger than the
    # first one: photos up to 853 px (at scale 0.75) are read once, as before, so a 640-px photo costs the same
    max_pixels: int = 640_000  # the budget (about 70 ms): a larger photo is read at a smaller scale
    tile: int = 1024  # the longest input side of one run; larger scaled photos are cut into tiles
    overlap: int = 160  # input pixels shared by neighbouring tiles: faces up to this size are whole in one
    containment: float = 0.7  # a box this much inside a more confident one (its share of area) is the same face
    # A portrait needs no detail pass: when the first pass finds at most `portrait_faces` faces, each at least
    # `portrait_face` of the photo's longer side (40 px at 320: found whole), the photo is a selfie or a couple
    # rather than a group. Any further face of 1/12 of the photo or more shows in the first pass too (3 faces:
    # read in detail); what is lost is only faces under 1/12 beside one or two faces 1.5x their size or more,
    # bystanders in the background, whose cards would come last anyway. No face at all, 3 or more faces, or
    # a smaller face: the photo may be a group, read in detail (benchmarks/group_photos.py).
    portrait_faces: int = 2
    portrait_face: float = 0.125

    def is_portrait(self, boxes: np.ndarray, height: int, width: int) -> bool:
        """Whether the first pass's boxes (x1y1x2y2, image pixels) show one or two large faces only."""
        if not 1 <= len(boxes) <= self.portrait_faces:
            return False
        sides = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        return bool((sides >= self.portrait_face * max(height, width)).all())

    def detail_scale(self, height: int, width: int, input_size: int) -> float | None:
        """The detail pass's scale for a photo, or None when the first pass reads it closely enough."""
        scale = min(self.scale, (self.max_pixels / (height * width)) ** 0.5)
        return scale if scale >= self.min_gain * input_size / max(height, width) else None


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Where tiles of `tile` pixels start along a side of `length` so that they cover it, neighbours sharing at
    least `overlap` pixels, evenly spread; one tile (the whole side) when it fits."""
    if length <= tile:
        return [0]
    count = -(-(length - overlap) // (tile - overlap))
    return [round(start) for start in np.linspace(0, length - tile, count)]


def tile_side(length: int, tile: int, overlap: int) -> int:
    """The side of the tiles along a side of `length`: as few tiles as `tile` pixels allow, each no longer
    than they need to be to share `overlap` pixels. (Tiles of `tile` pixels each would read a side a little
    longer than one tile almost twice: 1131 px as two tiles of 1024 rather than two of 646.)"""
    if length <= tile:
        return length
    count = -(-(length - overlap) // (tile - overlap))
    return -(-(length + (count - 1) * overlap) // count)


def tile_windows(height: int, width: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """(x1, y1, x2, y2) of the overlapping tiles that cover a height x width image, all of one size."""
    tile_w, tile_h = tile_side(width, tile, overlap), tile_side(height, tile, overlap)
    return [(x, y, x + tile_w, y + tile_h)
            for y in tile_starts(height, tile_h, overlap) for x in tile_starts(width, tile_w, overlap)]


def cut_by_tile_edge(boxes: np.ndarray, window: tuple[int, int, int, int], height: int, width: int,
                     margin: float = 1.0) -> np.ndarray:
    """(N,) bool: the box (in tile pixels) touches an edge of the tile that lies inside the image, so the face
    may go on beyond it."""
    x1, y1, x2, y2 = window
    return (((boxes[:, 0] <= margin) & (x1 > 0)) | ((boxes[:, 1] <= margin) & (y1 > 0))
            | ((boxes[:, 2] >= x2 - x1 - margin) & (x2 < width)) | ((boxes[:, 3] >= y2 - y1 - margin) & (y2 < height)))


def merge_detections(found: np.ndarray, iou_threshold: float, containment: float) -> np.ndarray:
    """(N, 5) boxes+scores from several tiles or scales -> one box per face, most confident first: a box is
    dropped when it overlaps a more confident one by more than `iou_threshold` IoU, or lies inside it by more
    than `containment` of its own area (part of a face seen at another scale)."""
    order = np.argsort(-found[:, 4], kind="stable")
    keep: list[int] = []
    for index in order:
        box = found[index, :4]
        if keep:
            kept = found[keep, :4]
            inside = np.prod(np.clip(np.minimum(box[2:], kept[:, 2:]) - np.maximum(box[:2], kept[:, :2]), 0, None),
                             axis=1) / max(float(np.prod(box[2:] - box[:2])), 1e-9)
            if (paired_iou(box, kept) > iou_threshold).any() or (inside > containment).any():
                continue
        keep.append(int(index))
    return found[keep]


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """Resize so the longer side is `size`, pad right/bottom to a multiple of 32; return (image, scale)."""
    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    pad_w = (STRIDE - new_w % STRIDE) % STRIDE
    pad_h = (STRIDE - new_h % STRIDE) % STRIDE
    padded = cv2.copyMakeBorder(resized, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    return padded, scale


def to_batch(images: list[np.ndarray]) -> np.ndarray:
    """Stack equally sized RGB uint8 images into a float32 NCHW batch in 0..1."""
    return model_input(np.stack(images), mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))


def non_max_suppression(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices of the boxes kept, most confident first: each box suppresses the less confident ones it overlaps
    by more than `iou_threshold` (OpenCV's NMS, as torchvision.ops.nms; equal scores keep their order)."""
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:4] - boxes[:, :2]], axis=1)
    kept = cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), 0.0, iou_threshold)
    return np.asarray(kept, np.int64).reshape(-1)


def decode_predictions(raw: np.ndarray, conf_threshold: float, iou_threshold: float,
                       max_det: int) -> list[np.ndarray]:
    """yolov5 inference output (B, N, 6: cx, cy, w, h, objectness, class prob) -> per image (M, 5) x1y1x2y2+score."""
    results = []
    for prediction in raw:
        scores = prediction[:, 4] * prediction[:, 5]
        keep = scores > conf_threshold
        prediction, scores = prediction[keep], scores[keep]
        centre, size = prediction[:, :2], prediction[:, 2:4]
        boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
        order = non_max_suppression(boxes, scores, iou_threshold)[:max_det]
        results.append(np.concatenate([boxes[order], scores[order, None]], axis=1))
    return results


class FaceDetector:
    """Finds faces in an RGB image: `detect(image)` -> (boxes (N, 4) x1y1x2y2 in image pixels, scores (N,))."""

    def __init__(self, model: Runner, config: DetectorConfig, tiling: TilingConfig | None = None) -> None:
        """`model`: the network as a runner (pipeline/runtime.py). `tiling`: how large photos are read in detail
        (default TilingConfig())."""
        self.config = config
        self.tiling = tiling or TilingConfig()
        self.forward = model

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every face: the whole photo at the input size, then, for a large photo that is not a portrait, its
        detail pass (module docstring); boxes in the image's pixels, most confident first."""
        height, width = image.shape[:2]
        padded, scale = letterbox(image, self.config.input_size)
        found = self.decode(padded)
        found[:, :4] /= scale
        detail_scale = self.tiling.detail_scale(height, width, self.config.input_size)
        if detail_scale is not None and not self.tiling.is_portrait(found[:, :4], height, width):
            found = merge_detections(np.concatenate([found, self.detect_in_detail(image, detail_scale)]),
                                     self.config.iou_threshold, self.tiling.containment)
        boxes = clip_boxes(found[:, :4], image.shape)
        sizes = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        keep = sizes >= self.config.min_face_px
        return boxes[keep].astype(np.float32), found[keep, 4].astype(np.float32)

    def decode(self, padded: np.ndarray) -> np.ndarray:
        """(M, 5) boxes+scores in the pixels of one padded input."""
        raw = self.forward(to_batch([padded]))
        return decode_predictions(raw, self.config.conf_threshold, self.config.iou_threshold,
                                  self.config.max_detections)[0]

    def detect_in_detail(self, image: np.ndarray, scale: float) -> np.ndarray:
        """(M, 5) boxes+scores, in image pixels, found in the image scaled by `scale`, tile by tile; boxes cut
        by a tile's inner edge are left out."""
        height, width = image.shape[:2]
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        scaled = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        found = []
        for window in tile_windows(size[1], size[0], self.tiling.tile, self.tiling.overlap):
            x1, y1, x2, y2 = window
            padded, _ = letterbox(scaled[y1:y2, x1:x2], max(x2 - x1, y2 - y1))
            boxes = self.decode(padded)
            boxes = boxes[~cut_by_tile_edge(boxes, window, size[1], size[0])]
            boxes[:, :4] = (boxes[:, :4] + np.array([x1, y1, x1, y1], np.float32)) / scale
            found.append(boxes)
        return np.concatenate(found)

    def detect_in_close_crop(self, image: np.ndarray) -> np.ndarray | None:
        """The most confident box in an image that is all face (such as MTFL's 80x80 crops), or None.

        The image is first framed in half its size of padding on each side, so the face sits in a scene as in
        a photo; the box comes back in the image's own pixels.
        """
        pad = image.shape[0] // 2
        framed = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
        boxes, scores = self.detect(framed)
        return boxes[np.argmax(scores)] - pad if len(boxes) else None
