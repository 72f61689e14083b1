"""How the view moves between frames, measured by phase correlation: a latent action's visible effect.

In CoinRun (and the other procgen platformers) the camera follows the player, so when the player walks
right the whole picture shifts left, and a jump shifts it down. Phase correlation (OpenCV's
``phaseCorrelate``) finds that global shift to a fraction of a pixel from the two frames alone. The signs
of a movement are read from real play (``real_motion``), not assumed, so the same code judges every game.

Shifts are in pixels of the 64 x 64 frame: dx > 0 when the picture moves right, dy > 0 when it moves down.
"""

import cv2
import numpy as np

_WINDOW = {}  # frame shape -> Hann window (it damps the frame borders, which a shift does not wrap)


def frame_shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(dx, dy) that moves frame ``a`` onto frame ``b`` (h w 3 uint8, or h w c float)."""
    a, b = (cv2.cvtColor(np.ascontiguousarray(f, np.float32), cv2.COLOR_RGB2GRAY) for f in (a, b))
    window = _WINDOW.setdefault(a.shape, cv2.createHanningWindow(a.shape[::-1], cv2.CV_32F))
    (dx, dy), _ = cv2.phaseCorrelate(a, b, window)
    return float(dx), float(dy)


def video_shifts(frames: np.ndarray) -> np.ndarray:
    """frames t h w 3 -> (t-1) x 2 shifts between consecutive frames."""
    return np.array([frame_shift(a, b) for a, b in zip(frames[:-1], frames[1:])]).reshape(-1, 2)
