"""DIAMOND's convolutional blocks and U-Net, shared by the Atari and CS:GO denoisers and the reward model.

Parameter names and numerics follow the published checkpoints (``unet.d_blocks.0.resblocks.0.norm1.linear``...).
Tensor letters: b batch, c channels, h/w height/width.
"""

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

GN_GROUP_SIZE = 32
GN_EPS = 1e-5
ATTN_HEAD_DIM = 8


def conv1x1(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=1)


def conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)


def num_groups(channels: int) -> int:
    return max(1, channels // GN_GROUP_SIZE)


class GroupNorm(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.GroupNorm(num_groups(channels), channels, eps=GN_EPS)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x)


class AdaGroupNorm(nn.Module):
    """Group norm without affine terms, then a per-channel scale and shift predicted from ``cond``."""

    def __init__(self, channels: int, cond_channels: int):
        super().__init__()
        self.groups = num_groups(channels)
        self.linear = nn.Linear(cond_channels, channels * 2)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        x = F.group_norm(x, self.groups, eps=GN_EPS)
        scale, shift = self.linear(cond)[:, :, None, None].chunk(2, dim=1)
        return x * (1 + scale) + shift


class SelfAttention2d(nn.Module):
    """Multi-head self-attention over the h*w positions.

    As in the published models, the residual is added to the *normalised* input: checkpoints were
    trained that way, so changing it would change their outputs. The attention is written out rather
    than calling SDPA so outputs match the published code bit for bit (it only runs at 8x8 on Atari).
    """

    def __init__(self, channels: int, head_dim: int = ATTN_HEAD_DIM):
        super().__init__()
        self.n_head = max(1, channels // head_dim)
        self.norm = GroupNorm(channels)
        self.qkv_proj = conv1x1(channels, channels * 3)
        self.out_proj = conv1x1(channels, channels)
        nn.init.zeros_(self.out_proj.weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        x = self.norm(x)
        qkv = self.qkv_proj(x).view(b, 3 * self.n_head, c // self.n_head, h * w).transpose(2, 3).contiguous()
        q, k, v = qkv.chunk(3, dim=1)  # each b x heads x hw x head_dim
        att = F.softmax((q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1)), dim=-1)
        y = att @ v
        y = y.transpose(2, 3).reshape(b, c, h, w)
        return x + self.out_proj(y)


class FourierFeatures(nn.Module):
    """Random Fourier features of a scalar (the noise level); the frequencies are a checkpoint buffer."""

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("weight", torch.randn(1, channels // 2))

    def forward(self, x: Tensor) -> Tensor:
        f = 2 * math.pi * x.unsqueeze(1) @ self.weight
        return torch.cat([f.cos(), f.sin()], dim=-1)


class Downsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, stride=2, padding=1)
        nn.init.orthogonal_(self.conv.weight)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = conv3x3(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class SmallResBlock(nn.Module):
    """Unconditioned residual block of the actor-critic encoder."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.f = nn.Sequential(GroupNorm(in_channels), nn.SiLU(), conv3x3(in_channels, out_channels))
        self.skip_projection = nn.Identity() if in_channels == out_channels else conv1x1(in_channels, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.skip_projection(x) + self.f(x)


class ResBlock(nn.Module):
    """norm -> SiLU -> conv, twice, conditioned through AdaGroupNorm; residual; optional attention."""

    def __init__(self, in_channels: int, out_channels: int, cond_channels: int, attn: bool):
        super().__init__()
        self.proj = conv1x1(in_channels, out_channels) if in_channels != out_channels else nn.Identity()
        self.norm1 = AdaGroupNorm(in_channels, cond_channels)
        self.conv1 = conv3x3(in_channels, out_channels)
        self.norm2 = AdaGroupNorm(out_channels, cond_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.attn = SelfAttention2d(out_channels) if attn else nn.Identity()
        nn.init.zeros_(self.conv2.weight)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        r = self.proj(x)
        x = self.conv1(F.silu(self.norm1(x, cond)))
        x = self.conv2(F.silu(self.norm2(x, cond)))
        return self.attn(x + r)


class ResBlocks(nn.Module):
    """A stack of ResBlocks; ``to_cat`` are U-Net skips concatenated before each block."""

    def __init__(self, in_channels: list[int], out_channels: list[int], cond_channels: int, attn: bool):
        super().__init__()
        self.resblocks = nn.ModuleList(
            ResBlock(i, o, cond_channels, attn) for i, o in zip(in_channels, out_channels, strict=True)
        )

    def forward(self, x: Tensor, cond: Tensor, to_cat: list[Tensor] | None = None) -> tuple[Tensor, list[Tensor]]:
        outputs = []
        for i, block in enumerate(self.resblocks):
            if to_cat is not None:
                x = torch.cat((x, to_cat[i]), dim=1)
            x = block(x, cond)
            outputs.append(x)
        return x, outputs


class UNet(nn.Module):
    """Encoder levels (``d_blocks``), two attention blocks in the middle, decoder levels (``u_blocks``).

    Inputs are padded to a multiple of 2**(levels-1) and cropped back, so any frame size works.
    """

    def __init__(self, cond_channels: int, depths: list[int], channels: list[int], attn_depths: list[int]):
        super().__init__()
        self.num_down = len(channels) - 1
        d_blocks, u_blocks = [], []
        for i, n in enumerate(depths):
            c1, c2 = channels[max(0, i - 1)], channels[i]
            attn = bool(attn_depths[i])
            d_blocks.append(ResBlocks([c1] + [c2] * (n - 1), [c2] * n, cond_channels, attn))
            u_blocks.append(ResBlocks([2 * c2] * n + [c1 + c2], [c2] * n + [c1], cond_channels, attn))
        self.d_blocks = nn.ModuleList(d_blocks)
        self.u_blocks = nn.ModuleList(reversed(u_blocks))
        self.mid_blocks = ResBlocks([channels[-1]] * 2, [channels[-1]] * 2, cond_channels, attn=True)
        self.downsamples = nn.ModuleList([nn.Identity()] + [Downsample(c) for c in channels[:-1]])
        self.upsamples = nn.ModuleList([nn.Identity()] + [Upsample(c) for c in reversed(channels[:-1])])

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        multiple = 2**self.num_down
        x = F.pad(x, (0, -w % multiple, 0, -h % multiple))
        skips = []
        for block, down in zip(self.d_blocks, self.downsamples):
            x_down = down(x)
            x, outputs = block(x_down, cond)
            skips.append([x_down, *outputs])
        x, _ = self.mid_blocks(x, cond)
        for block, up, skip in zip(self.u_blocks, self.upsamples, reversed(skips)):
            x, _ = block(up(x), cond, skip[::-1])
        return x[..., :h, :w]
