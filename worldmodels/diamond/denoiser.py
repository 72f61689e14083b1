"""DIAMOND's EDM denoiser: predicts the next frame from a noisy version of it, past frames and actions."""

import dataclasses
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from worldmodels.core.config import known_fields
from worldmodels.diamond.inner_model import InnerModel, InnerModelConfig
from worldmodels.diffusion.edm import Conditioners, SigmaDistribution, add_noise, conditioners, quantize


@dataclass
class DenoiserConfig:
    inner_model: InnerModelConfig = field(default_factory=InnerModelConfig)
    sigma_data: float = 0.5
    sigma_offset_noise: float = 0.3
    noise_previous_obs: bool = False  # CS:GO: noise the conditioning frames in training (and a bit when sampling)
    upsampling_factor: int | None = None  # CS:GO upsampler

    def updated(self, values: dict | None) -> "DenoiserConfig":
        """This config with the fields (and ``inner_model`` fields) that ``values`` sets, e.g. from a YAML."""
        values = dict(values or {})
        inner = dataclasses.replace(self.inner_model, **known_fields(InnerModelConfig, values.pop("inner_model", None)))
        return dataclasses.replace(self, inner_model=inner, **known_fields(DenoiserConfig, values))


class Denoiser(nn.Module):
    def __init__(self, cfg: DenoiserConfig):
        super().__init__()
        self.cfg = cfg
        self.inner_model = InnerModel(cfg.inner_model)

    @property
    def device(self) -> torch.device:
        return self.inner_model.noise_emb.weight.device

    def conditioners(self, sigma: Tensor) -> Conditioners:
        return conditioners(sigma, self.cfg.sigma_data, self.cfg.sigma_offset_noise)

    def model_output(
        self,
        noisy_next_obs: Tensor,
        obs: Tensor,
        act: Tensor | None,
        cs: Conditioners,
        sigma_cond: Tensor | None = None,
    ) -> Tensor:
        """F(c_in x; c_noise, obs / sigma_data, act): the raw network output.

        ``sigma_cond`` is the noise level of the conditioning frames (CS:GO; None = clean, embedded as 0).
        """
        c_noise_cond = None
        if self.inner_model.cfg.noise_cond_emb:
            c_noise_cond = sigma_cond.log() / 4 if sigma_cond is not None else torch.zeros_like(cs.c_noise)
        return self.inner_model(noisy_next_obs * cs.c_in, cs.c_noise, obs / self.cfg.sigma_data, act, c_noise_cond)

    @torch.no_grad()
    def denoise(
        self, noisy_next_obs: Tensor, sigma: Tensor, obs: Tensor, act: Tensor | None, sigma_cond: Tensor | None = None
    ) -> Tensor:
        """The denoised next frame, clamped and rounded to 8 bits.

        noisy_next_obs: b x c x h x w; sigma: b (or a scalar); obs: b x (t c) x h x w in [-1, 1]; act: b x t
        (or b x t x A multi-hot, or None for the upsampler).
        """
        cs = self.conditioners(sigma)
        output = self.model_output(noisy_next_obs, obs, act, cs, sigma_cond)
        return quantize(cs.c_skip * noisy_next_obs + cs.c_out * output)

    def loss(
        self, obs: Tensor, act: Tensor, mask: Tensor, sigma_distribution: SigmaDistribution, context_noise: float = 0.0
    ) -> Tensor:
        """Training loss on segments obs: b x (n + k) x c x h x w, act: b x (n + k), mask: b x (n + k).

        With k > 1 the model is unrolled autoregressively on its own (quantised) predictions. ``context_noise``
        > 0 adds Gaussian noise to the past frames, its sigma uniform in [0, context_noise] per segment, so
        the model learns to see through small errors in what it conditions on (its own earlier predictions).
        """
        n = self.cfg.inner_model.num_steps_conditioning
        steps = obs.size(1) - n
        all_obs = obs.clone()
        loss = 0.0
        for i in range(steps):
            past = all_obs[:, i : n + i].flatten(1, 2)
            next_obs = all_obs[:, n + i]
            valid = mask[:, n + i]
            sigma_cond = None
            if self.cfg.noise_previous_obs:
                sigma_cond = sigma_distribution.sample(obs.size(0), obs.device)
                past = add_noise(past, sigma_cond, self.cfg.sigma_offset_noise)
            elif context_noise > 0:
                past = add_noise(past, torch.rand(obs.size(0), device=obs.device) * context_noise, 0.0)
            sigma = sigma_distribution.sample(obs.size(0), obs.device)
            noisy = add_noise(next_obs, sigma, self.cfg.sigma_offset_noise)
            cs = self.conditioners(sigma)
            output = self.model_output(noisy, past, act[:, i : n + i], cs, sigma_cond)
            target = (next_obs - cs.c_skip * noisy) / cs.c_out
            loss = loss + F.mse_loss(output[valid], target[valid])
            with torch.no_grad():
                all_obs[:, n + i] = quantize(cs.c_skip * noisy + cs.c_out * output)
        return loss / steps
