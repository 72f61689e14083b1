"""Oasis 500M's diffusion transformer ("DiT-S/2" in open-oasis): spatial and causal temporal attention.

Each block is a spatial sub-block (bidirectional attention within a frame, 2-D axial RoPE) then a temporal
sub-block (causal attention across frames at each position, 1-D RoPE), both adaLN-Zero conditioned on the
frame's noise level + action. Parameter names follow the published ``oasis500m.safetensors``.

Tensor letters: b batch, t frames, h/w latent rows/columns (after patching), d hidden size.

``forward`` runs a whole window. For sampling, ``context`` + ``step`` do the same work in two parts:
context frames never depend on the newest frame (attention over time is causal, everything else is per
frame), so their temporal keys/values are computed once and reused by every denoising step of the new frame.
"""

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from worldmodels.core.config import not_a_multiple
from worldmodels.nn.mlp import Mlp
from worldmodels.nn.rotary import (
    RotaryEmbedding,
    Rotation,
    angles,
    apply_rotary,
    axial_angles,
    lang_freqs,
    pixel_freqs,
    rotation,
)


@dataclass
class DiTConfig:
    patch_size: int = 2
    in_channels: int = 16
    hidden_size: int = 1024
    depth: int = 16
    num_heads: int = 16
    mlp_ratio: float = 4.0
    external_cond_dim: int = 25
    max_frames: int = 32

    def problems(self) -> list[str]:
        return not_a_multiple(self, "hidden_size", "num_heads")


def modulate(x: Tensor, shift: Tensor, scale: Tensor) -> Tensor:
    """x: b t h w d; shift, scale: b t d (one per frame, broadcast over its tokens)."""
    return x * (1 + scale[:, :, None, None]) + shift[:, :, None, None]


def gate(x: Tensor, g: Tensor) -> Tensor:
    return g[:, :, None, None] * x


class PatchEmbed(nn.Module):
    def __init__(self, patch_size: int, in_channels: int, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x).permute(0, 2, 3, 1)  # (b t) h w d


class TimestepEmbedder(nn.Module):
    """Sinusoidal features of the integer noise level, then an MLP (as in DiT)."""

    def __init__(self, dim: int, frequency_dim: int = 256):
        super().__init__()
        self.frequency_dim = frequency_dim
        self.mlp = nn.Sequential(nn.Linear(frequency_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: Tensor) -> Tensor:
        half = self.frequency_dim // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
        args = t[..., None].float() * freqs
        return self.mlp(torch.cat([torch.cos(args), torch.sin(args)], dim=-1))


class Attention(nn.Module):
    """qkv / out projections shared by the spatial and the temporal attention."""

    def __init__(self, dim: int, heads: int, rotary_emb: RotaryEmbedding):
        super().__init__()
        self.heads = heads
        self.to_qkv = nn.Linear(dim, dim * 3, bias=False)
        self.to_out = nn.Linear(dim, dim)
        self.rotary_emb = rotary_emb

    def rotated_qkv(self, x: Tensor, rot: Rotation) -> tuple[Tensor, Tensor, Tensor]:
        """... d -> q, k, v as ... heads x head_dim, q and k rotated together (half the kernels of one each:
        a denoising step is bound by kernel launches)."""
        qkv = self.to_qkv(x).unflatten(-1, (3, self.heads, -1))  # ... 3 heads e
        qk = apply_rotary(rot, qkv[..., :2, :, :])
        return qk[..., 0, :, :], qk[..., 1, :, :], qkv[..., 2, :, :]


class SpatialAttention(Attention):
    def rotation(self, h: int, w: int) -> Rotation:
        return rotation(axial_angles(self.rotary_emb.freqs, h, w)[:, :, None, None])  # h w (q,k) heads e

    def forward(self, x: Tensor, rot: Rotation) -> Tensor:
        b, t, h, w, d = x.shape
        q, k, v = self.rotated_qkv(x, rot)  # b t h w heads e
        q, k, v = (z.flatten(2, 3).transpose(2, 3).flatten(0, 1) for z in (q, k, v))  # (b t) heads (h w) e
        y = F.scaled_dot_product_attention(q, k, v)
        return self.to_out(y.transpose(1, 2).reshape(b, t, h, w, d))


class TemporalAttention(Attention):
    def rotation(self, first_position: int, t: int) -> Rotation:
        """For frames at positions first_position, first_position + 1, ..."""
        positions = torch.arange(first_position, first_position + t, device=self.rotary_emb.freqs.device)
        return rotation(angles(positions, self.rotary_emb.freqs)[:, None, None, None, None])  # t h w (q,k) heads e

    def qkv(self, x: Tensor, rot: Rotation) -> tuple[Tensor, Tensor, Tensor]:
        """Rotated q, k and v as (b h w) heads t e."""
        b, t, h, w, _ = x.shape
        q, k, v = self.rotated_qkv(x, rot)  # b t h w heads e
        return tuple(z.permute(0, 2, 3, 4, 1, 5).reshape(b * h * w, self.heads, t, -1) for z in (q, k, v))

    def attend(self, q: Tensor, k: Tensor, v: Tensor, shape, causal: bool) -> Tensor:
        b, t, h, w, d = shape
        y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        return self.to_out(y.reshape(b, h, w, self.heads, t, -1).permute(0, 4, 1, 2, 3, 5).reshape(shape))

    def forward(self, x: Tensor, rot: Rotation) -> Tensor:
        q, k, v = self.qkv(x, rot)
        return self.attend(q, k, v, x.shape, causal=True)


class DiTBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float, spatial_rope, temporal_rope):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.s_attn = SpatialAttention(dim, heads, spatial_rope)
        self.s_mlp = Mlp(dim, hidden, gelu_approximate="tanh")
        self.s_adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))
        self.t_attn = TemporalAttention(dim, heads, temporal_rope)
        self.t_mlp = Mlp(dim, hidden, gelu_approximate="tanh")
        self.t_adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))

    @staticmethod
    def norm(x: Tensor) -> Tensor:
        return F.layer_norm(x, x.shape[-1:], eps=1e-6)

    def spatial(self, x: Tensor, c: Tensor, rot: Rotation) -> Tensor:
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.s_adaLN_modulation(c).chunk(6, dim=-1)
        x = x + gate(self.s_attn(modulate(self.norm(x), shift_msa, scale_msa), rot), gate_msa)
        return x + gate(self.s_mlp(modulate(self.norm(x), shift_mlp, scale_mlp)), gate_mlp)

    def temporal(
        self,
        x: Tensor,
        c: Tensor,
        rot: Rotation,
        cache: tuple[Tensor, Tensor] | None = None,
        record: list | None = None,
    ) -> Tensor:
        """Temporal sub-block; ``rot`` rotates the frames of ``x`` by their positions. With ``cache`` (keys,
        values of earlier frames) ``x`` holds the frames after them. ``record`` (a list) receives this call's
        keys and values, to build a cache."""
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.t_adaLN_modulation(c).chunk(6, dim=-1)
        q, k, v = self.t_attn.qkv(modulate(self.norm(x), shift_msa, scale_msa), rot)
        if record is not None:
            record.append((k, v))
        if cache is not None:
            if q.shape[2] != 1:
                raise ValueError("frames after a cache go one at a time")
            k, v = torch.cat((cache[0], k), dim=2), torch.cat((cache[1], v), dim=2)
        # Causal within a window; one new frame after a cache may see every cached frame, so it needs no mask.
        x = x + gate(self.t_attn.attend(q, k, v, x.shape, causal=cache is None), gate_msa)
        return x + gate(self.t_mlp(modulate(self.norm(x), shift_mlp, scale_mlp)), gate_mlp)


class FinalLayer(nn.Module):
    def __init__(self, dim: int, patch_size: int, out_channels: int):
        super().__init__()
        self.linear = nn.Linear(dim, patch_size * patch_size * out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=-1)
        return self.linear(modulate(F.layer_norm(x, x.shape[-1:], eps=1e-6), shift, scale))


@dataclass
class ContextCache:
    """Per block, the temporal keys and values of the context frames ((b h w) heads t e)."""

    layers: list[tuple[Tensor, Tensor]] = field(default_factory=list)

    @property
    def num_frames(self) -> int:
        return self.layers[0][0].shape[2] if self.layers else 0

    def extend(self, other: "ContextCache") -> "ContextCache":
        if not self.layers:
            return other
        return ContextCache(
            [(torch.cat((k, k2), 2), torch.cat((v, v2), 2)) for (k, v), (k2, v2) in zip(self.layers, other.layers)]
        )


class DiT(nn.Module):
    def __init__(self, cfg: DiTConfig | None = None):
        super().__init__()
        cfg = cfg or DiTConfig()
        self.cfg = cfg
        self.max_frames = cfg.max_frames
        head_dim = cfg.hidden_size // cfg.num_heads
        self.x_embedder = PatchEmbed(cfg.patch_size, cfg.in_channels, cfg.hidden_size)
        self.t_embedder = TimestepEmbedder(cfg.hidden_size)
        self.spatial_rotary_emb = RotaryEmbedding(pixel_freqs(head_dim // 2, max_freq=256))
        self.temporal_rotary_emb = RotaryEmbedding(lang_freqs(head_dim))
        self.external_cond = nn.Linear(cfg.external_cond_dim, cfg.hidden_size)
        self.blocks = nn.ModuleList(
            DiTBlock(cfg.hidden_size, cfg.num_heads, cfg.mlp_ratio, self.spatial_rotary_emb, self.temporal_rotary_emb)
            for _ in range(cfg.depth)
        )
        self.final_layer = FinalLayer(cfg.hidden_size, cfg.patch_size, cfg.in_channels)

    def embed(self, x: Tensor, t: Tensor, external_cond: Tensor) -> tuple[Tensor, Tensor]:
        b, f = x.shape[:2]
        tokens = self.x_embedder(x.flatten(0, 1)).unflatten(0, (b, f))  # b t h w d
        return tokens, self.t_embedder(t) + self.external_cond(external_cond)

    def unpatchify(self, x: Tensor) -> Tensor:
        """b t h w (p p c) -> b t c (h p) (w p)."""
        b, f, h, w, _ = x.shape
        p, c = self.cfg.patch_size, self.cfg.in_channels
        x = x.reshape(b, f, h, w, p, p, c).permute(0, 1, 6, 2, 4, 3, 5)
        return x.reshape(b, f, c, h * p, w * p)

    def forward(self, x: Tensor, t: Tensor, external_cond: Tensor) -> Tensor:
        """v-prediction for every frame. x: b t 16 18 32, t: b t (noise levels), external_cond: b t 25."""
        x, c = self.embed(x, t, external_cond)
        spatial, temporal = self.rotations(x, first_position=0)
        for block in self.blocks:
            x = block.temporal(block.spatial(x, c, spatial), c, temporal)
        return self.unpatchify(self.final_layer(x, c))

    def rotations(self, tokens: Tensor, first_position: int) -> tuple[Rotation, Rotation]:
        """The spatial and temporal RoPE rotations of ``tokens`` (b t h w d), computed once for all blocks."""
        _, t, h, w, _ = tokens.shape
        block = self.blocks[0]
        return block.s_attn.rotation(h, w), block.t_attn.rotation(first_position, t)

    def context(self, x: Tensor, t: Tensor, external_cond: Tensor, cache: ContextCache | None = None) -> ContextCache:
        """The temporal keys/values of frames ``x`` (appended after ``cache``, one frame at a time if so)."""
        cache = cache or ContextCache()
        if cache.layers:
            for i in range(x.shape[1]):
                cache = cache.extend(self._run(x[:, i : i + 1], t[:, i : i + 1], external_cond[:, i : i + 1], cache)[1])
            return cache
        return self._run(x, t, external_cond, None)[1]

    def step(self, x: Tensor, t: Tensor, external_cond: Tensor, cache: ContextCache) -> Tensor:
        """v-prediction for one new frame (b 1 ...) after the cached context frames."""
        return self._run(x, t, external_cond, cache)[0]

    def _run(self, x, t, external_cond, cache: ContextCache | None) -> tuple[Tensor, ContextCache]:
        x, c = self.embed(x, t, external_cond)
        spatial, temporal = self.rotations(x, first_position=cache.num_frames if cache is not None else 0)
        recorded = ContextCache()
        for i, block in enumerate(self.blocks):
            layer_cache = cache.layers[i] if cache is not None and cache.layers else None
            x = block.temporal(block.spatial(x, c, spatial), c, temporal, layer_cache, recorded.layers)
        return self.unpatchify(self.final_layer(x, c)), recorded
