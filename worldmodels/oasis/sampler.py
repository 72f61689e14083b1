"""Oasis' frame-by-frame sampler (open-oasis ``generate.py``), with an exact cache of the context frames.

For each new frame: a fresh N(0, 1) latent (clamped to +-20) joins a window of at most ``max_frames``
frames; context frames stay clean but are labelled with noise level ``stabilization_level - 1``; DDIM
with v-prediction updates only the newest frame, whose last step jumps straight to the x0 prediction.

With ``use_cache`` the context frames go through the DiT once per frame instead of once per DDIM step
(temporal attention is causal, so their activations do not depend on the new frame). While the window is
not full the cache also carries over to the next frame, extended by the finished frame; once the window
slides, the oldest frame leaves every context frame's causal attention, so the context is recomputed once
per new frame. Both are exact.
"""

from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor, nn

from worldmodels.core.device import autocast, autocast_dtype
from worldmodels.core.speed import speed_up
from worldmodels.diffusion.ddim import alphas_cumprod, ddim_levels, ddim_step
from worldmodels.oasis.dit import ContextCache, DiT
from worldmodels.oasis.vae import LATENT_SCALE, ViTVAE

STABILIZATION_LEVEL = 15
NOISE_ABS_MAX = 20


def cast_matmul_weights(module: nn.Module, dtype: torch.dtype) -> nn.Module:
    """Store the linear and conv weights in ``dtype``, which autocast casts them to anyway: inside a compiled
    or CUDA-graphed step autocast's cast cache does not apply, so every denoising step would re-read and
    re-cast all 500M fp32 weights. The results keep the same bits; the other parameters (RoPE frequencies)
    stay fp32, as autocast leaves them."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            layer.to(dtype)
    return module


def compile_dit(dit: DiT, compile: bool = False, cuda_graphs: bool = False) -> DiT:
    """torch.compile the DiT's entry points; with ``cuda_graphs`` the denoising step is also replayed as a
    CUDA graph (it runs ``ddim_steps`` times a frame, so launch overhead dominates it).

    Only ``step`` is graphed: a graph's outputs are overwritten by its next replay, and the context cache
    must outlive many steps. ``dynamic=None`` lets one compiled graph serve the growing context.
    """
    speed_up(dit, ("step",), compile, cuda_graphs, dynamic=None)
    return speed_up(dit, ("context", "forward"), compile or cuda_graphs, dynamic=None)


class OasisSampler:
    """``half``: fp16 autocast on CUDA, as the reference; the DiT's linear/conv weights become fp16 in place.
    Without a ``vae`` the DiT works on pixels in [-1, 1] (the small models ``oasis-train`` trains)."""

    def __init__(self, dit: DiT, vae: ViTVAE | None, ddim_steps: int = 10, use_cache: bool = True, half: bool = False):
        self.dit, self.vae = dit, vae
        self.ddim_steps = ddim_steps
        self.use_cache = use_cache
        self.half = half
        self.device = next(dit.parameters()).device
        if half and autocast_dtype(self.device) is not None:
            cast_matmul_weights(dit, torch.float16)
        self.alphas = alphas_cumprod().to(self.device)
        self.latents: Tensor | None = None  # b t c h w: the newest frames, as many as the next window holds
        self.actions: Tensor | None = None  # b t 25, the action each of them was conditioned on
        self.num_frames = 0  # frames so far, prompt included
        self._cache: ContextCache | None = None
        self._cache_start = 0

    def _autocast(self):
        """fp16 on CUDA, as the reference's ``autocast("cuda", dtype=torch.half)``; full precision elsewhere."""
        return autocast(self.device, enabled=self.half, dtype=torch.float16)

    @torch.no_grad()
    def encode(self, frames: Tensor) -> Tensor:
        """uint8 b t 3 360 640 -> scaled latents b t 16 18 32 (pixel space: b t 3 h w in [-1, 1])."""
        b, t = frames.shape[:2]
        x = frames.flatten(0, 1).to(self.device).float() / 127.5 - 1
        if self.vae is None:
            return x.unflatten(0, (b, t))
        with self._autocast():
            mean = self.vae.encode(x).mean
        h, w = self.vae.grid
        return (mean.float() * LATENT_SCALE).reshape(b, t, h, w, -1).permute(0, 1, 4, 2, 3)

    @torch.no_grad()
    def decode(self, latents: Tensor) -> Tensor:
        """Scaled latents b 16 18 32 -> uint8 b 360 640 3 (decoded in fp32, as the reference does)."""
        if self.vae is None:
            frames = ((latents.float() + 1) / 2).clamp(0, 1)
            return (frames * 255).round().byte().permute(0, 2, 3, 1)
        z = (latents / LATENT_SCALE).flatten(2).transpose(1, 2)
        frames = ((self.vae.decode(z) + 1) / 2).clamp(0, 1)
        return (frames * 255).byte().permute(0, 2, 3, 1)

    def reset(self, prompt_latents: Tensor, prompt_actions: Tensor) -> None:
        """Start from encoded prompt frames (b t ...) and the actions they were conditioned on (b t 25)."""
        self.num_frames = prompt_latents.shape[1]
        self._keep_context(prompt_latents.to(self.device), prompt_actions.to(self.device).float())
        self._cache, self._cache_start = None, 0

    def _keep_context(self, latents: Tensor, actions: Tensor) -> None:
        """Hold only what the next frame's window can see, so that memory stays flat over a long play."""
        first = max(0, latents.shape[1] + 1 - self.dit.max_frames)
        self.latents, self.actions = latents[:, first:], actions[:, first:]

    def video(self, prompt: Tensor, actions: Tensor, num_frames: int) -> Iterator[np.ndarray]:
        """open-oasis ``generate.py`` as frames (H x W x 3 uint8): the prompt frames (uint8 1 x t x 3 x H x W)
        decoded by the VAE like every other frame, then new frames up to ``num_frames``, frame i conditioned on
        ``actions[:, i]`` (1 x N x 25, the zero action first)."""
        latents = self.encode(prompt)
        self.reset(latents, actions[:, : latents.shape[1]])
        for i in range(latents.shape[1]):
            yield self.decode(latents[:, i])[0].cpu().numpy()
        for i in range(latents.shape[1], num_frames):
            yield self.decode(self.next_frame(actions[:, i]))[0].cpu().numpy()

    @torch.no_grad()
    def next_frame(self, action: Tensor) -> Tensor:
        """Generate one frame conditioned on ``action`` (b 25); returns its latent (b 16 18 32)."""
        b, i = self.latents.shape[0], self.num_frames
        window = self.latents  # frames start..i-1
        actions = torch.cat([self.actions, action.to(self.device).float()[:, None]], dim=1)
        x = torch.randn((b, 1, *window.shape[2:]), device=self.device).clamp(-NOISE_ABS_MAX, NOISE_ABS_MAX)
        start = max(0, i + 1 - self.dit.max_frames)
        t_ctx = torch.full((b, i - start), STABILIZATION_LEVEL - 1, dtype=torch.long, device=self.device)
        levels = ddim_levels(self.ddim_steps)
        with self._autocast():
            cache = self._context(window, t_ctx, actions[:, :-1], start) if self.use_cache else None
            for k in reversed(range(1, self.ddim_steps + 1)):
                t = torch.full((b, 1), int(levels[k]), dtype=torch.long, device=self.device)
                t_next = int(levels[k - 1]) if levels[k - 1] >= 0 else int(levels[k])
                if cache is not None:
                    v = self.dit.step(x, t, actions[:, -1:], cache)
                else:
                    full = torch.cat([window, x], dim=1)
                    v = self.dit(full, torch.cat([t_ctx, t], dim=1), actions)[:, -1:]
                alpha = self.alphas[t].view(b, 1, 1, 1, 1)
                alpha_next = torch.ones_like(alpha) if k == 1 else self.alphas[t_next].expand_as(alpha)
                x = ddim_step(x, v.float(), alpha, alpha_next)
        self.num_frames += 1
        self._keep_context(torch.cat([window, x], dim=1), actions)
        if self.use_cache:
            self._keep_cache(cache, x, start)
        return x[:, 0]

    def _context(self, window: Tensor, t_ctx: Tensor, actions: Tensor, start: int) -> ContextCache:
        if self._cache is not None and self._cache_start == start and self._cache.num_frames == window.shape[1]:
            return self._cache
        return self.dit.context(window, t_ctx, actions)

    def _keep_cache(self, cache: ContextCache, x: Tensor, start: int) -> None:
        """Carry the cache over to the next frame when that frame's window starts where this one did."""
        next_start = max(0, self.num_frames + 1 - self.dit.max_frames)
        if next_start != start:
            self._cache = None
            return
        t = torch.full((x.shape[0], 1), STABILIZATION_LEVEL - 1, dtype=torch.long, device=self.device)
        with self._autocast():
            self._cache = self.dit.context(x, t, self.actions[:, -1:], cache)
        self._cache_start = start
