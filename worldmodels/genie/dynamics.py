"""Genie's dynamics model (Bruce et al. 2024, section 2.1): a MaskGIT ST-transformer over video tokens.

Frames of token ids z_1..z_T go in with some tokens replaced by a learned mask token; the model predicts
the masked ids. The latent action a_t (the LAM's code for the transition t -> t+1) is an additive embedding
on the tokens of frame t+1, the frame it leads to (padding the actions on the wrong side shifts them by one
frame, so a predicted frame never gets the action that produced it: Jafar issue #14, Jasmine issue #122).
Training masks frames 2..T with a Bernoulli rate drawn uniformly from [0.5, 1]; the first frame is never
masked (it is the prompt at play time).

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


class DynamicsModel(nn.Module):
    def __init__(self, cfg: DynamicsConfig | None = None):
        super().__init__()
        cfg = cfg or DynamicsConfig()
        self.cfg = cfg
        self.token_emb = nn.Embedding(cfg.num_codes, cfg.dim)
        self.mask_token = nn.Parameter(torch.randn(cfg.dim) * 0.02)
        self.action_emb = nn.Embedding(cfg.num_actions, cfg.dim)
        self.transformer = STTransformer(cfg.dim, cfg.depth, cfg.heads, cfg.tokens_per_frame, cfg.max_frames)
        self.head = nn.Linear(cfg.dim, cfg.num_codes)

    def embed(self, tokens: Tensor, mask: Tensor | None) -> Tensor:
        """tokens b t s (ids), mask b t s (True = hidden) -> b t s d."""
        x = self.token_emb(tokens)
        return x if mask is None else torch.where(mask[..., None], self.mask_token.to(x.dtype), x)

    def action_embedding(self, actions: Tensor) -> Tensor:
        """actions b (t-1) -> b t 1 d: a_i on frame i+1, nothing on the first frame."""
        return F.pad(self.action_emb(actions), (0, 0, 1, 0))[:, :, None]

    def forward(self, tokens: Tensor, actions: Tensor, mask: Tensor | None = None) -> Tensor:
        """tokens b t s, actions b (t-1) (a_i leads from frame i to i+1), mask b t s -> logits b t s v."""
        if tokens.shape[1] > self.cfg.max_frames:
            raise ValueError(f"{tokens.shape[1]} frames, the model holds at most {self.cfg.max_frames}")
        x = self.embed(tokens, mask) + self.action_embedding(actions)
        return self.head(self.transformer(x))

    def loss(
        self, tokens: Tensor, actions: Tensor, mask_rate: tuple[float, float] = (0.5, 1.0)
    ) -> tuple[Tensor, Tensor]:
        """MaskGIT training loss: (cross-entropy on the masked tokens, their prediction accuracy)."""
        b, t, s = tokens.shape
        rate = torch.empty(b, 1, 1, device=tokens.device).uniform_(*mask_rate)
        mask = torch.rand(b, t, s, device=tokens.device) < rate
        mask[:, 0] = False
        logits = self(tokens, actions, mask)[mask]
        targets = tokens[mask]
        return F.cross_entropy(logits, targets), (logits.argmax(dim=-1) == targets).float().mean()

    def context(self, tokens: Tensor, actions: Tensor) -> DynamicsCache:
        """The temporal keys/values of past frames tokens b t s (no mask) with actions b (t-1)."""
        tr = self.transformer
        x = self.embed(tokens, None) + self.action_embedding(actions)
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
        x = self.embed(tokens[:, None], None if mask is None else mask[:, None])
        x = x + self.action_emb(action)[:, None, None] + tr.spatial_pos + tr.temporal_pos[t]
        for block, kv in zip(tr.blocks, cache.layers):
            x = block_with_cache(block, x, kv)[0]
        return self.head(tr.norm(x))[:, 0]
