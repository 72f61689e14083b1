"""The spatio-temporal (ST) transformer of Genie (Bruce et al. 2024, section 2).

Each block: attention over the tokens of one frame (bidirectional), then attention over time at each
token position (causal: frame t sees frames <= t), then one MLP, all pre-norm with residuals. Cost grows
linearly with the number of frames. Used by Genie's video tokenizer, latent action model and dynamics model.

Tensor letters: b batch, t frames, s tokens per frame, d width.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, causal: bool) -> Tensor:
        """x: n l d -> n l d, attending along l."""
        q, k, v = (z.unflatten(-1, (self.heads, -1)).transpose(1, 2) for z in self.qkv(x).chunk(3, dim=-1))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        return self.proj(y.transpose(1, 2).flatten(2))


class STBlock(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.norm_s = nn.LayerNorm(dim)
        self.spatial = Attention(dim, heads)
        self.norm_t = nn.LayerNorm(dim)
        self.temporal = Attention(dim, heads)
        self.norm_mlp = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: Tensor) -> Tensor:
        b, t, s, d = x.shape
        x = x + self.spatial(self.norm_s(x).reshape(b * t, s, d), causal=False).reshape(b, t, s, d)
        xt = self.norm_t(x).transpose(1, 2).reshape(b * s, t, d)
        x = x + self.temporal(xt, causal=True).reshape(b, s, t, d).transpose(1, 2)
        return x + self.mlp(self.norm_mlp(x))


class STTransformer(nn.Module):
    """A stack of ST blocks with learned spatial and temporal position embeddings and a final norm."""

    def __init__(self, dim: int, depth: int, heads: int, tokens_per_frame: int, max_frames: int):
        super().__init__()
        self.spatial_pos = nn.Parameter(torch.zeros(tokens_per_frame, dim))
        self.temporal_pos = nn.Parameter(torch.zeros(max_frames, dim))
        nn.init.normal_(self.spatial_pos, std=0.02)
        nn.init.normal_(self.temporal_pos, std=0.02)
        self.blocks = nn.ModuleList(STBlock(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        """x: b t s d (t <= max_frames) -> b t s d."""
        t = x.shape[1]
        x = x + self.spatial_pos + self.temporal_pos[:t, None]
        for block in self.blocks:
            x = block(x)
        return self.norm(x)
