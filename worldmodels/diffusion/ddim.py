"""DDIM (eta = 0) with v-prediction over a sigmoid beta schedule, as Oasis samples."""

import torch
from torch import Tensor


def sigmoid_beta_schedule(timesteps: int = 1000, start: float = -3, end: float = 3, tau: float = 1) -> Tensor:
    """Betas whose alpha-bar follows a sigmoid (Chen 2023, "On the importance of noise scheduling")."""
    t = torch.linspace(0, timesteps, timesteps + 1, dtype=torch.float64) / timesteps
    v_start, v_end = torch.tensor(start / tau).sigmoid(), torch.tensor(end / tau).sigmoid()
    alphas_cumprod = (-((t * (end - start) + start) / tau).sigmoid() + v_end) / (v_end - v_start)
    alphas_cumprod = alphas_cumprod / alphas_cumprod[0]
    return torch.clip(1 - alphas_cumprod[1:] / alphas_cumprod[:-1], 0, 0.999)


def alphas_cumprod(timesteps: int = 1000) -> Tensor:
    """alpha-bar_t in fp32, the way Oasis computes it (cumprod in fp32 of fp32 betas)."""
    return torch.cumprod(1.0 - sigmoid_beta_schedule(timesteps).float(), dim=0)


def ddim_levels(steps: int, timesteps: int = 1000) -> Tensor:
    """Noise levels visited: linspace(-1, T-1, steps+1) truncated to integers; -1 means "clean"."""
    return torch.linspace(-1, timesteps - 1, steps + 1).long()


def ddim_step(x: Tensor, v: Tensor, alpha: Tensor, alpha_next: Tensor) -> Tensor:
    """One deterministic DDIM update from a v-prediction (alpha = alpha-bar at the current level)."""
    x0 = alpha.sqrt() * x - (1 - alpha).sqrt() * v
    eps = ((1 / alpha).sqrt() * x - x0) / (1 / alpha - 1).sqrt()
    return alpha_next.sqrt() * x0 + eps * (1 - alpha_next).sqrt()
