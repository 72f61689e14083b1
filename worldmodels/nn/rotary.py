"""Rotary position embeddings (RoPE) with interleaved pairs, as in lucidrains' rotary-embedding-torch.

``RotaryEmbedding.freqs`` is stored as a (frozen) parameter because the published Oasis checkpoint
contains it; angles are computed from it, so loading the file reproduces the model exactly.
"""

import math

import torch
from torch import Tensor, nn


def lang_freqs(dim: int, theta: float = 10000.0) -> Tensor:
    """1 / theta^(2i/dim): the usual frequencies for integer positions (text, frames)."""
    return 1.0 / (theta ** (torch.arange(0, dim, 2)[: dim // 2].float() / dim))


def pixel_freqs(dim: int, max_freq: float) -> Tensor:
    """Linearly spaced frequencies for positions in [-1, 1] (image rows and columns)."""
    return torch.linspace(1.0, max_freq / 2, dim // 2) * math.pi


def angles(positions: Tensor, freqs: Tensor) -> Tensor:
    """positions (...,) x freqs (f,) -> rotation angles (..., 2f), each angle repeated for its pair."""
    return (positions.to(freqs.dtype)[..., None] * freqs).repeat_interleave(2, dim=-1)


def axial_angles(freqs: Tensor, height: int, width: int) -> Tensor:
    """2-D angles (height, width, 4f): rows then columns, positions linspace(-1, 1) on each axis."""
    rows = angles(torch.linspace(-1, 1, height, device=freqs.device), freqs)
    cols = angles(torch.linspace(-1, 1, width, device=freqs.device), freqs)
    rows = rows[:, None, :].expand(height, width, -1)
    cols = cols[None, :, :].expand(height, width, -1)
    return torch.cat((rows, cols), dim=-1)


def rotate_half(x: Tensor) -> Tensor:
    x = x.unflatten(-1, (-1, 2))
    x1, x2 = x.unbind(dim=-1)
    return torch.stack((-x2, x1), dim=-1).flatten(-2)


Rotation = tuple[Tensor, Tensor]  # cos and sin of the angles


def rotation(theta: Tensor) -> Rotation:
    """cos and sin of ``theta``, computed once and shared by every layer that rotates by the same angles."""
    return theta.cos(), theta.sin()


def apply_rotary(rot: Rotation, x: Tensor) -> Tensor:
    """Rotate the first ``cos.shape[-1]`` features of ``x`` (computed in fp32)."""
    cos, sin = rot
    dtype, n = x.dtype, cos.shape[-1]
    rotated, rest = x[..., :n].float(), x[..., n:]
    out = rotated * cos + rotate_half(rotated) * sin
    return torch.cat((out.to(dtype), rest), dim=-1)


class RotaryEmbedding(nn.Module):
    def __init__(self, freqs: Tensor):
        super().__init__()
        self.freqs = nn.Parameter(freqs, requires_grad=False)
