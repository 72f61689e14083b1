"""Oasis' ViT-VAE ("vit-l-20-shallow-encoder"): 360x640 frames <-> 18x32 tokens of 16 latent channels.

Patches of 20x20 pixels, 6 encoder and 12 decoder ViT blocks (width 1024, 16 heads, 2-D RoPE on a quarter
of each head), a variational bottleneck. Parameter names follow the published ``vit-l-20.safetensors``.
"""

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from worldmodels.core.config import not_a_multiple
from worldmodels.nn.mlp import Mlp
from worldmodels.nn.rotary import apply_rotary, axial_angles, pixel_freqs, rotation

LATENT_SCALE = 0.07843137255  # Oasis multiplies VAE means by this (= 20/255) before the DiT


@dataclass
class VAEConfig:
    latent_dim: int = 16
    input_height: int = 360
    input_width: int = 640
    patch_size: int = 20
    dim: int = 1024
    enc_depth: int = 6
    dec_depth: int = 12
    heads: int = 16
    mlp_ratio: float = 4.0

    def problems(self) -> list[str]:
        sides = not_a_multiple(self, "input_height", "patch_size") + not_a_multiple(self, "input_width", "patch_size")
        return not_a_multiple(self, "dim", "heads") + sides


@dataclass
class DiagonalGaussian:
    """The encoder's posterior, as the reference returns it (Oasis only uses ``.mean``)."""

    mean: Tensor
    logvar: Tensor


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, grid: tuple[int, int]):
        super().__init__()
        self.heads, self.grid = heads, grid
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        theta = axial_angles(pixel_freqs(dim // heads // 4, max_freq=grid[0] * grid[1]), *grid)
        self.register_buffer("rotary_angles", theta.flatten(0, 1), persistent=False)  # (h w) e

    def forward(self, x: Tensor) -> Tensor:
        b, n, d = x.shape
        q, k, v = (z.unflatten(-1, (self.heads, -1)).transpose(1, 2) for z in self.qkv(x).chunk(3, dim=-1))
        rot = rotation(self.rotary_angles)  # on the model's device, as the reference computes it
        q, k = apply_rotary(rot, q), apply_rotary(rot, k)
        y = F.scaled_dot_product_attention(q, k, v)
        return self.proj(y.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, grid: tuple[int, int], mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads, grid)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, patch_size: int, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # b (h w) d


class ViTVAE(nn.Module):
    def __init__(self, cfg: VAEConfig | None = None):
        super().__init__()
        cfg = cfg or VAEConfig()
        self.cfg = cfg
        self.grid = (cfg.input_height // cfg.patch_size, cfg.input_width // cfg.patch_size)
        self.patch_size = cfg.patch_size
        self.patch_embed = PatchEmbed(cfg.patch_size, cfg.dim)
        self.encoder = nn.ModuleList(Block(cfg.dim, cfg.heads, self.grid, cfg.mlp_ratio) for _ in range(cfg.enc_depth))
        self.enc_norm = nn.LayerNorm(cfg.dim, eps=1e-6)
        self.quant_conv = nn.Linear(cfg.dim, 2 * cfg.latent_dim)
        self.post_quant_conv = nn.Linear(cfg.latent_dim, cfg.dim)
        self.decoder = nn.ModuleList(Block(cfg.dim, cfg.heads, self.grid, cfg.mlp_ratio) for _ in range(cfg.dec_depth))
        self.dec_norm = nn.LayerNorm(cfg.dim, eps=1e-6)
        self.predictor = nn.Linear(cfg.dim, 3 * cfg.patch_size**2)

    def encode(self, x: Tensor) -> DiagonalGaussian:
        """x: b 3 H W in [-1, 1] -> posterior over b (h w) latent_dim."""
        x = self.patch_embed(x)
        for block in self.encoder:
            x = block(x)
        mean, logvar = self.quant_conv(self.enc_norm(x)).chunk(2, dim=-1)
        return DiagonalGaussian(mean, logvar.clamp(-30.0, 20.0))

    def decode(self, z: Tensor) -> Tensor:
        """z: b (h w) latent_dim -> b 3 H W (roughly [-1, 1])."""
        z = self.post_quant_conv(z)
        for block in self.decoder:
            z = block(z)
        patches = self.predictor(self.dec_norm(z))  # b (h w) (c p p)
        (h, w), p = self.grid, self.patch_size
        x = patches.reshape(-1, h, w, 3, p, p).permute(0, 3, 1, 4, 2, 5)
        return x.reshape(-1, 3, h * p, w * p)
