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


Rotation = tuple[Tensor, Tensor]  # cos of the angles, and their sin with the pair signs folded in


def rotation(theta: Tensor) -> Rotation:
    """cos and signed sin of ``theta``, computed once and shared by every layer that rotates by the same angles.

    Interleaved RoPE maps each pair (x1, x2) to (x1 cos - x2 sin, x2 cos + x1 sin). Folding the pair signs
    into the sin, (-sin, +sin, ...), leaves a swap of each pair at run time: one kernel instead of a negate
    and a stack, with the same bits (negation is exact).
    """
    sin = theta.sin()  # both angles of a pair are equal, so this negates every first sin of a pair
    return theta.cos(), torch.stack((-sin[..., 0::2], sin[..., 1::2]), dim=-1).flatten(-2)


def swap_pairs(x: Tensor) -> Tensor:
    return x.unflatten(-1, (-1, 2)).flip(-1).flatten(-2)


def apply_rotary(rot: Rotation, x: Tensor) -> Tensor:
    """Rotate the first ``cos.shape[-1]`` features of ``x`` (computed in fp32)."""
    cos, signed_sin = rot
    dtype, n = x.dtype, cos.shape[-1]
    rotated = x[..., :n].float()
    out = (rotated * cos + swap_pairs(rotated) * signed_sin).to(dtype)
    return out if n == x.shape[-1] else torch.cat((out, x[..., n:]), dim=-1)


class RotaryEmbedding(nn.Module):
    def __init__(self, freqs: Tensor):
        super().__init__()
        self.freqs = nn.Parameter(freqs, requires_grad=False)
