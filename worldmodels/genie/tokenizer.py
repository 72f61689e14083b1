"""Genie's video tokenizer (Bruce et al. 2024, section 2.1): an ST-ViViT VQ-VAE that turns frames into tokens.

Each 64 x 64 frame is cut into 4 x 4 patches (16 x 16 = 256 per frame), embedded, mixed by a causal
ST-transformer encoder, projected to a 32-dim latent and snapped to one of 1024 codes. The decoder, another
causal ST-transformer, maps the codes back to patch pixels. Causal time attention on both sides means the
tokens of frame t depend on frames 1..t only, and frame t decodes from tokens 1..t only, so the dynamics
model can generate and decode one frame at a time. The decoder ends in tanh, the [-1, 1] twin of the
sigmoid Jafar uses for [0, 1] pixels: unlike a clamp it never cuts the gradient of a pixel that overshoots.

All Genie code passes frames as float b x t x 3 x 64 x 64 in [-1, 1].

Tensor letters: b batch, t frames, s tokens per frame (gh x gw grid), d width, l latent width, c/h/w pixels,
p patch size.
"""

from dataclasses import dataclass

import torch
from einops import rearrange
from torch import Tensor, nn

from worldmodels.core.config import not_a_multiple
from worldmodels.nn.quantize import VectorQuantizer
from worldmodels.nn.st_transformer import STTransformer


@dataclass
class TokenizerConfig:
    """Defaults: the CoinRun tokenizer of the paper (Appendix F, Table 15)."""

    image_size: int = 64
    patch_size: int = 4
    dim: int = 512
    encoder_depth: int = 8
    decoder_depth: int = 8
    heads: int = 8
    latent_dim: int = 32
    num_codes: int = 1024
    max_frames: int = 16

    def problems(self) -> list[str]:
        return not_a_multiple(self, "image_size", "patch_size") + not_a_multiple(self, "dim", "heads")


class VideoTokenizer(nn.Module):
    def __init__(self, cfg: TokenizerConfig | None = None):
        super().__init__()
        cfg = cfg or TokenizerConfig()
        self.cfg = cfg
        side = cfg.image_size // cfg.patch_size
        self.grid = (side, side)
        self.tokens_per_frame = side * side
        patch_dim = 3 * cfg.patch_size**2
        self.patch_embed = nn.Linear(patch_dim, cfg.dim)
        self.encoder = STTransformer(cfg.dim, cfg.encoder_depth, cfg.heads, self.tokens_per_frame, cfg.max_frames)
        self.to_latent = nn.Linear(cfg.dim, cfg.latent_dim)
        self.quantizer = VectorQuantizer(cfg.num_codes, cfg.latent_dim)
        self.from_latent = nn.Linear(cfg.latent_dim, cfg.dim)
        self.decoder = STTransformer(cfg.dim, cfg.decoder_depth, cfg.heads, self.tokens_per_frame, cfg.max_frames)
        self.to_pixels = nn.Linear(cfg.dim, patch_dim)

    def quantize(self, video: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """b t c h w -> (quantised latents b t s l, indices b t s, VQ loss)."""
        p = self.cfg.patch_size
        patches = rearrange(video, "b t c (gh p) (gw q) -> b t (gh gw) (p q c)", p=p, q=p)
        z = self.to_latent(self.encoder(self.patch_embed(patches)))
        # Nearest-code search in float32: under bf16 autocast, 1024 cosine similarities round into ties.
        with torch.autocast(z.device.type, enabled=False):
            return self.quantizer(z.float())

    def decode_latents(self, z_q: Tensor) -> Tensor:
        """b t s l -> b t c h w in [-1, 1]."""
        patches = torch.tanh(self.to_pixels(self.decoder(self.from_latent(z_q))))
        gh, gw = self.grid
        p = self.cfg.patch_size
        return rearrange(patches, "b t (gh gw) (p q c) -> b t c (gh p) (gw q)", gh=gh, gw=gw, p=p, q=p)

    def forward(self, video: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """b t c h w -> (reconstruction b t c h w, token ids b t gh gw, VQ loss)."""
        z_q, indices, vq_loss = self.quantize(video)
        return self.decode_latents(z_q), indices.unflatten(-1, self.grid), vq_loss

    def encode(self, video: Tensor) -> Tensor:
        """b t c h w -> token ids b t gh gw (long). Use eval mode: in training the quantizer re-seeds dead codes."""
        return self.quantize(video)[1].unflatten(-1, self.grid)

    def decode(self, tokens: Tensor) -> Tensor:
        """Token ids b t gh gw -> frames b t c h w in [-1, 1]."""
        return self.decode_latents(self.quantizer.codes(tokens.flatten(-2)))
