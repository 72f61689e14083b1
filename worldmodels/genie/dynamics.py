"""Genie's dynamics model (Bruce et al. 2024, section 2.1): a MaskGIT ST-transformer over video tokens.

Frames of token ids z_1..z_T go in with some tokens replaced by a learned mask token; the model predicts
the masked ids. The latent action a_t (the LAM's code for the transition t -> t+1) reaches frame t+1, the
frame it leads to (padding the actions on the wrong side shifts them by one frame, so a predicted frame never
gets the action that produced it: Jafar issue #14, Jasmine issue #122), either as an embedding added to every
token of that frame (the paper) or as one extra token in front of the frame's tokens (``action_token``:
Jasmine found this essential for CoinRun), which spatial attention reads and whose output is dropped.

Training masks frames 2..T, each with a Bernoulli rate drawn uniformly from [0.5, 1]; the first frame is
never masked (it is the prompt at play time). At play time the new frame starts fully masked, a case the
uniform rate almost never shows: ``full_mask`` hides a whole frame with that probability, so that the model
learns to predict a frame from the past and the action alone.

``forward`` runs a whole window. For sampling, ``context`` + ``step`` do the same work in two parts: time
attention is causal and everything else is per frame, so the past frames' temporal keys/values do not
depend on the frame being decoded; they are computed once and every MaskGIT step runs the new frame only.

Tensor letters: b batch, t frames, s tokens per frame, d width, v vocabulary, k heads, e head width.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from worldmodels.core.config import not_a_multiple
from worldmodels.nn.st_transformer import Attention, STBlock, STTransformer


@dataclass
class DynamicsConfig:
    """Defaults: the CoinRun dynamics model (paper Table 17: 12 layers, d 512, 8 heads) on 16x16 tokens."""

    num_codes: int = 1024  # the video tokenizer's vocabulary
    num_actions: int = 8  # the latent action model's codebook
    tokens_per_frame: int = 256
    dim: int = 512
    depth: int = 12
    heads: int = 8
    max_frames: int = 16
    action_token: bool = False  # the latent action as an extra token per frame instead of added to every token

    def problems(self) -> list[str]:
        return not_a_multiple(self, "dim", "heads")


@dataclass
class DynamicsCache:
    """Per block, the temporal keys and values ((b s) k t e) of the context frames."""

    layers: list[tuple[Tensor, Tensor]]

    @property
    def num_frames(self) -> int:
        return self.layers[0][0].shape[2]


def split_heads(attention: Attention, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """n l d -> q, k, v as n k l e (the projection of ``Attention.forward``)."""
    return tuple(z.unflatten(-1, (attention.heads, -1)).transpose(1, 2) for z in attention.qkv(x).chunk(3, dim=-1))


def block_with_cache(block: STBlock, x: Tensor, cache: tuple[Tensor, Tensor] | None):
    """``STBlock.forward`` (causal time) that also returns its temporal keys/values, appended to ``cache``.

    With a cache, x (b 1 s d) is the one frame after the cached ones and attends to all of them and itself.
    """
    b, t, s, d = x.shape
    x = x + block.spatial(block.norm_s(x).reshape(b * t, s, d), causal=False).reshape(b, t, s, d)
    q, k, v = split_heads(block.temporal, block.norm_t(x).transpose(1, 2).reshape(b * s, t, d))
    if cache is not None:
        k, v = torch.cat((cache[0], k), dim=2), torch.cat((cache[1], v), dim=2)
    y = F.scaled_dot_product_attention(q, k, v, is_causal=cache is None)
    y = block.temporal.proj(y.transpose(1, 2).flatten(2))
    x = x + y.reshape(b, s, t, d).transpose(1, 2)
    return x + block.mlp(block.norm_mlp(x)), (k, v)


def leading(actions: Tensor) -> Tensor:
    """actions b (t-1), a_i from frame i to i+1 -> b t: the action leading to each frame (-1: none, frame 1)."""
    return F.pad(actions, (1, 0), value=-1)


class DynamicsModel(nn.Module):
    def __init__(self, cfg: DynamicsConfig | None = None):
        super().__init__()
        cfg = cfg or DynamicsConfig()
        self.cfg = cfg
        self.token_emb = nn.Embedding(cfg.num_codes, cfg.dim)
        self.mask_token = nn.Parameter(torch.randn(cfg.dim) * 0.02)
        self.action_emb = nn.Embedding(cfg.num_actions, cfg.dim)
        slots = cfg.tokens_per_frame + cfg.action_token
        self.transformer = STTransformer(cfg.dim, cfg.depth, cfg.heads, slots, cfg.max_frames)
        self.head = nn.Linear(cfg.dim, cfg.num_codes)

    def embed(self, tokens: Tensor, actions: Tensor, mask: Tensor | None) -> Tensor:
        """tokens b t s (ids), actions b t (the one leading to each frame; -1: none), mask b t s (True = hidden)
        -> b t s d, or b t (1+s) d with the action token first."""
        x = self.token_emb(tokens)
        if mask is not None:
            x = torch.where(mask[..., None], self.mask_token.to(x.dtype), x)
        a = self.action_emb(actions.clamp(min=0)) * (actions >= 0)[..., None]  # b t d, zero where none
        return torch.cat((a[:, :, None], x), dim=2) if self.cfg.action_token else x + a[:, :, None]

    def logits(self, x: Tensor) -> Tensor:
        """Transformer output b t S d -> logits b t s v of the frame tokens (an action token has none)."""
        return self.head(x[:, :, -self.cfg.tokens_per_frame :])

    def forward(self, tokens: Tensor, actions: Tensor, mask: Tensor | None = None) -> Tensor:
        """tokens b t s, actions b (t-1) (a_i leads from frame i to i+1), mask b t s -> logits b t s v."""
        if tokens.shape[1] > self.cfg.max_frames:
            raise ValueError(f"{tokens.shape[1]} frames, the model holds at most {self.cfg.max_frames}")
        return self.logits(self.transformer(self.embed(tokens, leading(actions), mask)))

    def loss(
        self, tokens: Tensor, actions: Tensor, mask_rate: tuple[float, float] = (0.5, 1.0), full_mask: float = 0.0
    ) -> tuple[Tensor, Tensor]:
        """MaskGIT training loss: (cross-entropy on the masked tokens, their prediction accuracy). Each frame
        after the first is masked at a rate drawn from ``mask_rate``, or wholly with probability ``full_mask``."""
        b, t, s = tokens.shape
        rate = torch.empty(b, t, 1, device=tokens.device).uniform_(*mask_rate)
        rate = torch.where(torch.rand(b, t, 1, device=tokens.device) < full_mask, 1.0, rate)
        mask = torch.rand(b, t, s, device=tokens.device) < rate
        mask[:, 0] = False
        logits = self(tokens, actions, mask)[mask]
        targets = tokens[mask]
        return F.cross_entropy(logits, targets), (logits.argmax(dim=-1) == targets).float().mean()

    def context(self, tokens: Tensor, actions: Tensor) -> DynamicsCache:
        """The temporal keys/values of past frames tokens b t s (no mask) with actions b (t-1)."""
        tr = self.transformer
        x = self.embed(tokens, leading(actions), None)
        x = x + tr.spatial_pos + tr.temporal_pos[: x.shape[1], None]
        layers = []
        for block in tr.blocks:
            x, kv = block_with_cache(block, x, None)
            layers.append(kv)
        return DynamicsCache(layers)

    def step(self, tokens: Tensor, action: Tensor, cache: DynamicsCache, mask: Tensor | None = None) -> Tensor:
        """Logits b s v for the frame after the cached ones: tokens b s, action b (leading to it), mask b s."""
        tr, t = self.transformer, cache.num_frames
        if t >= self.cfg.max_frames:
            raise ValueError(f"{t} cached frames, the model holds at most {self.cfg.max_frames} with the new one")
        x = self.embed(tokens[:, None], action[:, None], None if mask is None else mask[:, None])
        x = x + tr.spatial_pos + tr.temporal_pos[t]
        for block, kv in zip(tr.blocks, cache.layers):
            x = block_with_cache(block, x, kv)[0]
        return self.logits(tr.norm(x))[:, 0]
