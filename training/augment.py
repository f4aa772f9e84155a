"""albumentations pipelines that move landmarks with the image, and the left/right swap a flip needs."""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np


def landmark_transform(crop_size: int, context: float) -> A.Compose:
    """Geometric and photometric changes for a landmark crop with `context` times the nominal side around it.

    The Affine moves the keypoints; the final CenterCrop keeps the nominal crop.
    """
    return A.Compose(
        [
            A.Affine(scale=(0.85, 1.15), translate_percent=(-0.06, 0.06), rotate=(-30, 30),
                     border_mode=cv2.BORDER_CONSTANT, fill=0, p=0.9),
            A.CenterCrop(crop_size, crop_size),
            A.ColorJitter(0.4, 0.4, 0.4, 0.05, p=0.8),
            A.ToGray(p=0.1),
            A.OneOf([A.MotionBlur(blur_limit=5), A.GaussianBlur(blur_limit=(3, 5))], p=0.2),
            A.ImageCompression(quality_range=(30, 95), p=0.3),
            A.CoarseDropout(num_holes_range=(1, 2), hole_height_range=(0.1, 0.25),
                            hole_width_range=(0.1, 0.25), p=0.2),
        ],
        keypoint_params=A.KeypointParams(format="xy", remove_invisible=False),
    )


def embedder_transform(flip: bool = True) -> A.Compose:
    """Heavy augmentation for aligned 112x112 crops: pose jitter, occlusion, blur, colour, low quality, and
    black borders where a photo would have ended (as in faces_extra). `flip=False` when the caller mirrors
    the crop itself (distillation: the mirror has a target of its own)."""
    return A.Compose(
        [
            A.HorizontalFlip(p=0.5 if flip else 0.0),
            A.Affine(scale=(0.9, 1.1), translate_percent=(-0.05, 0.05), rotate=(-10, 10),
                     border_mode=cv2.BORDER_REFLECT, p=0.7),
            A.ColorJitter(0.4, 0.4, 0.3, 0.05, p=0.8),
            A.ToGray(p=0.15),
            A.OneOf([A.MotionBlur(blur_limit=7), A.GaussianBlur(blur_limit=(3, 7)),
                     A.Downscale(scale_range=(0.3, 0.6))], p=0.35),
            A.ImageCompression(quality_range=(30, 95), p=0.3),
            A.OneOf([SunglassesPatch(), A.CoarseDropout(num_holes_range=(1, 3), hole_height_range=(0.1, 0.3),
                                                        hole_width_range=(0.1, 0.3))], p=0.25),
            BlackBorder(p=0.2),
        ]
    )


class SunglassesPatch(A.ImageOnlyTransform):
    """A dark band over both eyes of an aligned crop (the ArcFace template puts the eyes at y ~ 52/112)."""

    def __init__(self, p: float = 1.0) -> None:
        super().__init__(p=p)

    def apply(self, img: np.ndarray, **params) -> np.ndarray:
        out = img.copy()
        height, width = out.shape[:2]
        rng = np.random.default_rng()
        top = int(height * rng.uniform(0.38, 0.43))
        bottom = int(height * rng.uniform(0.53, 0.58))
        shade = rng.integers(0, 60)
        out[top:bottom, int(width * 0.2):int(width * 0.8)] = shade
        return out

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ()


class BlackBorder(A.ImageOnlyTransform):
    """Black out a band along one or two edges of the crop, as where a tight source photo ended (faces_extra's
    crops have them), so that a border is not learnt as a trait of the person."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__(p=p)

    def apply(self, img: np.ndarray, **params) -> np.ndarray:
        out = img.copy()
        height, width = out.shape[:2]
        rng = np.random.default_rng()
        for edge in rng.choice(4, size=rng.integers(1, 3), replace=False):
            depth = int(rng.uniform(0.05, 0.3) * (height if edge < 2 else width))
            if edge == 0:
                out[:depth] = 0
            elif edge == 1:
                out[height - depth:] = 0
            elif edge == 2:
                out[:, :depth] = 0
            else:
                out[:, width - depth:] = 0
        return out

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ()
