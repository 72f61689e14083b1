"""Genie's latent action model (LAM, Bruce et al. 2024, section 2.1): actions learned from unlabeled video.

An encoder sees frames x_1..x_T and, for each transition t -> t+1, emits a continuous latent action that a
vector quantiser snaps to a tiny codebook (8 codes by default; 6 in the CoinRun case study). A decoder then
reconstructs x_{t+1} from x_1..x_t and the quantised a_t only, so whatever the past cannot explain about the
next frame has to squeeze through those few codes. At play time only the codebook is kept: the user picks a_t.

Both networks are causal ST-transformers on raw pixels (the paper's Table 2: pixel input controls better
than token input). As in Jafar, the encoder prepends a learned action token to every frame's patches; its
output at frame t+1 (which sees x_1..x_{t+1}) is the latent action a_t. The decoder's slot t holds the
patches of x_t plus the embedding of a_t and is trained to output x_{t+1}: causal time attention means it
sees x_1..x_t and a_1..a_t, never x_{t+1} itself. Pixels are in [-1, 1]; the output head is linear (the paper
squashes [0, 1] pixels with a sigmoid) so that the loss is a plain MSE that can reach saturated pixels.

``pairwise`` cuts the clip into its transitions: the encoder sees x_t and x_{t+1} only, the decoder x_t and
a_t only. A decoder that sees the history can predict most of the next frame from it (in CoinRun the player
keeps its speed), so the action is left with little to explain and the codes drift to whatever else varies
(the collapse tinyworlds and LAPO report); from one frame the decoder cannot tell where the player is
heading, so the action has to say it.

Tensor letters: b batch, t frames, n patches per frame, d width, l latent-action width, c/h/w pixels.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from worldmodels.core.config import not_a_multiple
from worldmodels.nn.quantize import VectorQuantizer
from worldmodels.nn.st_transformer import STTransformer


@dataclass
class LatentActionConfig:
    """Defaults: the CoinRun LAM (paper Table 16: 8 layers, d 512, 8 heads, latent 32) with |A| = 8, patch 16."""

    image_size: int = 64
    patch_size: int = 16
    dim: int = 512
    depth: int = 8
    heads: int = 8
    num_codes: int = 8
    latent_dim: int = 32
    max_frames: int = 16
    dead_code_steps: int = 50  # Jafar re-seeds LAM codes unused for 50 steps: small codebooks collapse easily
    pairwise: bool = False  # each transition on its own: encoder (x_t, x_{t+1}), decoder (x_t, a_t)

    def problems(self) -> list[str]:
        return not_a_multiple(self, "image_size", "patch_size") + not_a_multiple(self, "dim", "heads")


class LatentActionModel(nn.Module):
    def __init__(self, cfg: LatentActionConfig | None = None):
        super().__init__()
        cfg = cfg or LatentActionConfig()
        self.cfg = cfg
        patches = (cfg.image_size // cfg.patch_size) ** 2
        patch_dim = 3 * cfg.patch_size**2
        self.encoder_in = nn.Linear(patch_dim, cfg.dim)
        self.action_token = nn.Parameter(torch.randn(cfg.dim) * 0.02)
        self.encoder = STTransformer(cfg.dim, cfg.depth, cfg.heads, patches + 1, cfg.max_frames)
        self.to_latent = nn.Linear(cfg.dim, cfg.latent_dim)
        self.vq = VectorQuantizer(cfg.num_codes, cfg.latent_dim, dead_after=cfg.dead_code_steps)
        self.decoder_in = nn.Linear(patch_dim, cfg.dim)
        self.action_in = nn.Linear(cfg.latent_dim, cfg.dim)
        self.decoder = STTransformer(cfg.dim, cfg.depth, cfg.heads, patches, cfg.max_frames - 1)
        self.to_pixels = nn.Linear(cfg.dim, patch_dim)

    def patchify(self, video: Tensor) -> Tensor:
        """b t c h w -> b t n (c p p)."""
        p = self.cfg.patch_size
        b, t, c, h, w = video.shape
        x = video.reshape(b, t, c, h // p, p, w // p, p).permute(0, 1, 3, 5, 2, 4, 6)
        return x.reshape(b, t, (h // p) * (w // p), c * p * p)

    def unpatchify(self, x: Tensor) -> Tensor:
        """b t n (c p p) -> b t c h w."""
        p, side = self.cfg.patch_size, self.cfg.image_size // self.cfg.patch_size
        b, t = x.shape[:2]
        x = x.reshape(b, t, side, side, 3, p, p).permute(0, 1, 4, 2, 5, 3, 6)
        return x.reshape(b, t, 3, side * p, side * p)

    def latent(self, video: Tensor) -> Tensor:
        """video b t c h w -> continuous latent actions b (t-1) l (the action token's output at frames 2..t)."""
        if self.cfg.pairwise:
            b, t = video.shape[:2]
            pairs = video.unfold(1, 2, 1).movedim(-1, 2).flatten(0, 1)  # (b (t-1)) 2 c h w
            return self._latent(pairs).unflatten(0, (b, t - 1))[:, :, 0]
        return self._latent(video)

    def _latent(self, video: Tensor) -> Tensor:
        x = self.encoder_in(self.patchify(video))
        action_tokens = self.action_token.expand(*x.shape[:2], 1, -1)
        return self.to_latent(self.encoder(torch.cat((action_tokens, x), dim=2))[:, 1:, 0])

    def encode(self, video: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """video b t c h w -> (quantised actions b (t-1) l, indices b (t-1), VQ loss)."""
        return self.vq(self.latent(video))

    def decode(self, past: Tensor, actions: Tensor) -> Tensor:
        """Frames x_1..x_{t} (b t c h w) and quantised a_1..a_{t} (b t l) -> predicted x_2..x_{t+1} (b t c h w)."""
        x = self.decoder_in(self.patchify(past)) + self.action_in(actions)[:, :, None]
        if self.cfg.pairwise:
            return self.unpatchify(self.to_pixels(self.decoder(x.flatten(0, 1)[:, None]))).unflatten(0, past.shape[:2])[
                :, :, 0
            ]
        return self.unpatchify(self.to_pixels(self.decoder(x)))

    def forward(self, video: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """video b t c h w in [-1, 1] -> (reconstruction of frames 2..t, action indices b (t-1), loss)."""
        actions, indices, vq_loss = self.encode(video)
        reconstruction = self.decode(video[:, :-1], actions)
        return reconstruction, indices, F.mse_loss(reconstruction, video[:, 1:]) + vq_loss

    @torch.no_grad()
    def infer_actions(self, video: Tensor) -> Tensor:
        """video b t c h w -> the latent action of each transition, LongTensor b (t-1) in [0, num_codes).

        A plain nearest-code lookup: unlike ``encode`` in training mode it never re-seeds codes, so a frozen LAM
        inside a module that Lightning puts in training mode stays frozen."""
        z = F.normalize(self.latent(video), dim=-1)
        return (z @ F.normalize(self.vq.codebook.weight, dim=-1).t()).argmax(dim=-1)
