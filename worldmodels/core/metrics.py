"""Image metrics every model family reports."""

import torch
from torch import Tensor


def frame_psnr(x: Tensor, y: Tensor) -> Tensor:
    """PSNR in dB of each frame (shape ...) of frames ... c h w in [-1, 1], measured on [0, 1] images."""
    mse = ((x.float() - y.float()) / 2).pow(2).flatten(-3).mean(-1)
    return -10 * torch.log10(mse.clamp_min(1e-10))


def psnr(x: Tensor, y: Tensor) -> Tensor:
    """Mean per-frame PSNR in dB (see ``frame_psnr``)."""
    return frame_psnr(x, y).mean()
