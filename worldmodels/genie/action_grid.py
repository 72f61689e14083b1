"""The action grid: one picture that shows what each latent action does.

Rows are the latent actions, columns are time: every row starts from the same frame and holds its action.
A reader sees at a glance whether some action walks left, another right, another jumps, or whether the rows
only differ in noise. ``genie-eval --grid`` and ``genie-play --grid`` write it.
"""

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from torch import Tensor

from worldmodels.core.files import atomic_path
from worldmodels.core.video import to_hwc_uint8

GAP = 2  # pixels between frames
LABEL_WIDTH = 120


def action_grid(videos: Tensor, labels: list[str], scale: int = 2) -> np.ndarray:
    """videos k t c h w in [-1, 1] (row = latent action) -> an H x W x 3 uint8 image with a label per row."""
    frames = to_hwc_uint8(videos)
    k, t, h, w, _ = frames.shape
    h, w = h * scale, w * scale
    frames = frames.repeat(scale, axis=2).repeat(scale, axis=3)
    grid = np.full((k * (h + GAP) + GAP, LABEL_WIDTH + t * (w + GAP) + GAP, 3), 255, np.uint8)
    for row in range(k):
        for col in range(t):
            y, x = GAP + row * (h + GAP), LABEL_WIDTH + GAP + col * (w + GAP)
            grid[y : y + h, x : x + w] = frames[row, col]
    image = Image.fromarray(grid)
    draw = ImageDraw.Draw(image)
    for row, label in enumerate(labels):
        draw.multiline_text((4, GAP + row * (h + GAP) + h // 3), label, fill=(0, 0, 0))
    return np.asarray(image)


def save_grid(path: str | os.PathLike, videos: Tensor, labels: list[str]) -> Path:
    """``action_grid`` written atomically as a PNG."""
    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(action_grid(videos, labels)).save(tmp, format="PNG")
    return path
