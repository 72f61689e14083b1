"""The Karras et al. (2022) sampler as DIAMOND runs it: Karras sigmas, Euler or Heun, optional churn.

Works with any denoiser that has ``denoise(x, sigma, obs, act, sigma_cond) -> denoised`` (Atari and CS:GO).
``s_cond`` > 0 (CS:GO) re-noises the conditioning frames with that sigma before every network call.
Random numbers are drawn in the same order as the published sampler, so seeded runs match it.
"""

import math

import torch
from torch import Tensor

from worldmodels.diffusion.edm import add_noise


def karras_sigmas(num_steps: int, sigma_min: float, sigma_max: float, rho: float, device=None) -> Tensor:
    """``num_steps`` noise levels from sigma_max down to sigma_min, spaced in sigma^(1/rho), then a final 0."""
    min_inv_rho, max_inv_rho = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    ramp = torch.linspace(0, 1, num_steps, device=device)
    sigmas = (max_inv_rho + ramp * (min_inv_rho - max_inv_rho)) ** rho
    return torch.cat((sigmas, sigmas.new_zeros(1)))


class DiffusionSampler:
    def __init__(
        self,
        denoiser,
        num_steps_denoising: int = 3,
        sigma_min: float = 2e-3,
        sigma_max: float = 5.0,
        rho: float = 7,
        order: int = 1,
        s_churn: float = 0.0,
        s_tmin: float = 0.0,
        s_tmax: float = math.inf,
        s_noise: float = 1.0,
        s_cond: float = 0.0,
    ):
        if order not in (1, 2):
            raise ValueError(f"order must be 1 (Euler) or 2 (Heun), got {order}")
        self.denoiser = denoiser
        self.order = order
        self.s_churn, self.s_tmin, self.s_tmax, self.s_noise, self.s_cond = s_churn, s_tmin, s_tmax, s_noise, s_cond
        self.sigmas = karras_sigmas(num_steps_denoising, sigma_min, sigma_max, rho)

    @torch.no_grad()
    def sample(self, obs: Tensor, act: Tensor | None) -> tuple[Tensor, list[Tensor]]:
        """Next frame given past frames ``obs`` (b x t x c x h x w) and actions; also the trajectory.

        The initial noise has unit variance, not sigma_max: DIAMOND does this on purpose (it makes the
        network lean on the conditioning frames and reduces drift).
        """
        b, t, c, h, w = obs.shape
        obs = obs.reshape(b, t * c, h, w)
        sigmas = self.sigmas.to(obs.device)
        levels = self.sigmas.tolist()  # the same values on the CPU: branching on them needs no GPU sync
        gamma_max = min(self.s_churn / (len(sigmas) - 1), 2**0.5 - 1)
        x = torch.randn(b, c, h, w, device=obs.device)
        trajectory = [x]
        for i, (sigma, next_sigma) in enumerate(zip(sigmas[:-1], sigmas[1:])):
            gamma = gamma_max if self.s_tmin <= levels[i] <= self.s_tmax else 0
            sigma_hat = sigma * (gamma + 1)
            if gamma > 0:
                eps = torch.randn_like(x) * self.s_noise
                x = x + eps * (sigma_hat**2 - sigma**2) ** 0.5
            sigma_cond = None
            if self.s_cond > 0:  # cumulative, as published: the frames get a little noisier at every step
                sigma_cond = torch.full((b,), self.s_cond, device=obs.device)
                obs = add_noise(obs, sigma_cond, sigma_offset_noise=0.0)
            denoised = self.denoiser.denoise(x, sigma, obs, act, sigma_cond)
            d = (x - denoised) / sigma_hat
            dt = next_sigma - sigma_hat
            if self.order == 1 or levels[i + 1] == 0:
                x = x + d * dt  # Euler
            else:
                x_2 = x + d * dt  # Heun: average the slopes at both ends
                denoised_2 = self.denoiser.denoise(x_2, next_sigma.expand(b), obs, act, sigma_cond)
                d_2 = (x_2 - denoised_2) / next_sigma
                x = x + (d + d_2) / 2 * dt
            trajectory.append(x)
        return x, trajectory
