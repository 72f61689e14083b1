"""EDM preconditioning (Karras et al. 2022) as DIAMOND uses it, with offset noise folded into sigma.

The network F sees ``c_in * x`` and ``c_noise``; the denoised estimate is ``c_skip * x + c_out * F``.
DIAMOND adds a per-(sample, channel) constant "offset noise" during training and so computes the
conditioners with the effective sigma ``sqrt(sigma^2 + sigma_offset_noise^2)``.
"""

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class Conditioners:
    c_in: Tensor  # b x 1 x 1 x 1
    c_out: Tensor
    c_skip: Tensor
    c_noise: Tensor  # b


def _as_image_dims(x: Tensor) -> Tensor:
    return x.reshape(x.shape + (1,) * (4 - x.ndim))


def conditioners(sigma: Tensor, sigma_data: float, sigma_offset_noise: float) -> Conditioners:
    """Preconditioning for noise level ``sigma`` (a scalar or one per sample)."""
    sigma = (sigma**2 + sigma_offset_noise**2).sqrt()
    c_in = 1 / (sigma**2 + sigma_data**2).sqrt()
    c_skip = sigma_data**2 / (sigma**2 + sigma_data**2)
    c_out = sigma * c_skip.sqrt()
    c_noise = sigma.log() / 4
    return Conditioners(
        _as_image_dims(c_in), _as_image_dims(c_out), _as_image_dims(c_skip), c_noise.reshape(c_noise.shape or (1,))
    )


@dataclass
class SigmaDistribution:
    """Log-normal training noise levels, ln sigma ~ N(loc, scale^2), clipped to [sigma_min, sigma_max]."""

    loc: float = -0.4
    scale: float = 1.2
    sigma_min: float = 2e-3
    sigma_max: float = 20.0

    def sample(self, n: int, device: torch.device | str = "cpu") -> Tensor:
        s = torch.randn(n, device=device) * self.scale + self.loc
        return s.exp().clip(self.sigma_min, self.sigma_max)


def add_noise(x: Tensor, sigma: Tensor, sigma_offset_noise: float) -> Tensor:
    """Training corruption: a per-(sample, channel) offset ~ N(0, offset^2) plus Gaussian noise * sigma."""
    b, c = x.shape[:2]
    offset = sigma_offset_noise * torch.randn(b, c, 1, 1, device=x.device)
    return x + offset + torch.randn_like(x) * _as_image_dims(sigma)


def quantize(x: Tensor) -> Tensor:
    """Clamp to [-1, 1] and snap to 8-bit levels (truncating, as the published code does)."""
    return x.clamp(-1, 1).add(1).div(2).mul(255).byte().div(255).mul(2).sub(1)
