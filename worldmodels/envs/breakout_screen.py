"""What a Breakout frame must show, on DIAMOND's 64x64 preprocessed screen: the regions of the score, the
walls, the brick rows and the paddle, and a check that an imagined frame still has them.

Rows and columns were read off real frames (``DiamondAtari("Breakout")``): score rows 1-4, top wall 5-9, side
walls columns 0-2 and 61-63, brick rows 17-27, the paddle (red, 200/72/72 before resizing) in rows 57-58."""

import numpy as np

SCORE = (slice(0, 5), slice(None))
TOP_WALL = (slice(5, 10), slice(None))
SIDE_WALLS = (slice(10, 59), np.r_[0:3, 61:64])
BRICKS = (slice(17, 28), slice(3, 61))
PADDLE_ROWS = (slice(56, 60), slice(3, 61))
MIN_PADDLE_WIDTH = 3  # pixels: the paddle is 4 to 7 wide at 64x64, the ball at most 2
KEPT_AT = {"bricks": 20.0, "walls": 25.0, "score": 18.0}  # region PSNR (dB) against the real frame


def region_psnr(x: np.ndarray, y: np.ndarray, region: tuple) -> float:
    """PSNR (dB) between two uint8 frames (h w 3) inside ``region``."""
    diff = x[region].astype(np.float64) - y[region].astype(np.float64)
    return float(10 * np.log10(255**2 / max(np.mean(diff**2), 1e-10)))


def has_paddle(frame: np.ndarray) -> bool:
    """A red run at least ``MIN_PADDLE_WIDTH`` wide in the paddle's rows."""
    rows = frame[PADDLE_ROWS].astype(int)
    red = (rows[..., 0] >= 120) & (rows[..., 0] - rows[..., 1] >= 40)
    for row in red:
        runs = np.diff(np.flatnonzero(np.diff(np.r_[0, row.astype(int), 0])))[::2]
        if len(runs) and runs.max() >= MIN_PADDLE_WIDTH:
            return True
    return False


def region_psnrs(imagined: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """PSNR (dB) of an imagined frame against the real one in the brick rows, the walls and the score."""
    walls = min(region_psnr(imagined, real, TOP_WALL), region_psnr(imagined, real, SIDE_WALLS))
    return {"bricks": region_psnr(imagined, real, BRICKS), "walls": walls, "score": region_psnr(imagined, real, SCORE)}


def objects_kept(imagined: np.ndarray, real: np.ndarray) -> dict[str, bool]:
    """Does an imagined frame still show the game the real frame shows? Paddle present, the brick rows as in
    reality (PSNR >= 20 dB there), walls clean (>= 25 dB) and the score readable (>= 18 dB)."""
    psnrs = region_psnrs(imagined, real)
    kept = {name: psnrs[name] >= low for name, low in KEPT_AT.items()}
    return {"paddle": has_paddle(imagined)} | kept
