"""Pictures of what the pipeline does, for the study notebooks: boxes and points drawn on photos, image grids,
training-log curves.

Drawing works on RGB uint8 arrays with OpenCV and returns a copy. The figure helpers import matplotlib
lazily (it comes with the `dev` and `train` extras, not with the bot).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np
import pandas as pd

GREEN = (40, 200, 70)
RED = (230, 40, 40)
BLUE = (40, 110, 240)
YELLOW = (250, 210, 30)


def line_width(image: np.ndarray) -> int:
    """A line thickness that stays visible when the image is shown a few hundred pixels wide."""
    return max(1, round(max(image.shape[:2]) / 250))


def draw_boxes(image: np.ndarray, boxes: np.ndarray, colour: tuple[int, int, int] = GREEN,
               scores: Sequence[float] | None = None) -> np.ndarray:
    """A copy of `image` with (N, 4) x1y1x2y2 boxes drawn, each labelled with its score when given."""
    out = np.ascontiguousarray(image).copy()
    width = line_width(out)
    for index, box in enumerate(np.asarray(boxes, np.float32).reshape(-1, 4)):
        x1, y1, x2, y2 = (round(float(v)) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, width)
        if scores is not None:
            cv2.putText(out, f"{scores[index]:.2f}", (x1, max(y1 - 3 * width, 10)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.4 * width, colour, width, cv2.LINE_AA)
    return out


def draw_points(image: np.ndarray, points: np.ndarray, colour: tuple[int, int, int] = RED) -> np.ndarray:
    """A copy of `image` with landmarks drawn as dots: (5, 2) or (N, 5, 2) pixel coordinates."""
    out = np.ascontiguousarray(image).copy()
    radius = max(2, round(max(out.shape[:2]) / 100))
    for x, y in np.asarray(points, np.float32).reshape(-1, 2):
        cv2.circle(out, (round(float(x)), round(float(y))), radius, colour, -1, cv2.LINE_AA)
    return out


def show_images(images: Sequence[np.ndarray], titles: Sequence[str] | None = None, columns: int = 4,
                size: float = 2.0):
    """A matplotlib figure with the images in a grid, `size` inches per cell, titles above them."""
    import matplotlib.pyplot as plt

    rows = max(1, -(-len(images) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * size * 1.1), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < len(images):
            axis.imshow(images[index])
            if titles is not None:
                axis.set_title(titles[index], fontsize=9)
    figure.tight_layout()
    return figure


def plot_training_logs(logs: Mapping[str, pd.DataFrame], fields: Sequence[str], title: str = ""):
    """One panel per logged field, one line per run, against the epochs in log order.

    `logs` maps a run's name to its per-epoch log (pandas.read_json(path, lines=True) of a training
    script's JSON lines). The x axis counts rows, so a log continued by a second run (whose `epoch` field
    starts again at 0) reads as one schedule; a run that lacks a field is left out of that panel.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(1, len(fields), figsize=(3.2 * len(fields), 2.8), squeeze=False)
    for axis, field in zip(axes[0], fields, strict=True):
        for name, log in logs.items():
            if field in log:
                axis.plot(np.arange(1, len(log) + 1), log[field], marker="o", markersize=3, label=name)
        axis.set_title(field, fontsize=10)
        axis.set_xlabel("epochs trained")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(True, alpha=0.3)
        if len(logs) > 1:
            axis.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure
