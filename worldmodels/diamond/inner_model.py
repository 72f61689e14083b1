"""The U-Net inside DIAMOND's denoisers: past frames stacked on channels, noise level + past actions as conditioning.

Atari (branch main) embeds each past action index. The CS:GO models (branch csgo) add a second Fourier
embedding for the noise level of the (noised) conditioning frames, take 51-dim multi-hot actions (summed
embedding rows), and the upsampler takes no action but one extra conditioning frame (the upsampled
low-resolution frame).
"""

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from worldmodels.core.config import not_a_multiple, same_lengths
from worldmodels.nn.unet import FourierFeatures, GroupNorm, UNet, conv3x3


@dataclass
class InnerModelConfig:
    img_channels: int = 3
    num_steps_conditioning: int = 4
    cond_channels: int = 256
    depths: list[int] = field(default_factory=lambda: [2, 2, 2, 2])
    channels: list[int] = field(default_factory=lambda: [64, 64, 64, 64])
    attn_depths: list[int] = field(default_factory=lambda: [0, 0, 0, 0], metadata={"min": 0})
    num_actions: int = 18
    noise_cond_emb: bool = False  # CS:GO: embed the conditioning frames' noise level too
    is_upsampler: bool = False  # CS:GO upsampler: no actions, the low-res frame as extra input

    def problems(self) -> list[str]:
        lengths = same_lengths(self, "depths", "channels", "attn_depths")
        return lengths + not_a_multiple(self, "cond_channels", "num_steps_conditioning")


class InnerModel(nn.Module):
    def __init__(self, cfg: InnerModelConfig):
        super().__init__()
        self.cfg = cfg
        self.noise_emb = FourierFeatures(cfg.cond_channels)
        if cfg.noise_cond_emb:
            self.noise_cond_emb = FourierFeatures(cfg.cond_channels)
        if not cfg.is_upsampler:
            self.act_emb = nn.Sequential(
                nn.Embedding(cfg.num_actions, cfg.cond_channels // cfg.num_steps_conditioning),
                nn.Flatten(),  # b x t x e -> b x (t e): one slot per past action
            )
        self.cond_proj = nn.Sequential(
            nn.Linear(cfg.cond_channels, cfg.cond_channels),
            nn.SiLU(),
            nn.Linear(cfg.cond_channels, cfg.cond_channels),
        )
        num_frames_in = cfg.num_steps_conditioning + int(cfg.is_upsampler) + 1
        self.conv_in = conv3x3(num_frames_in * cfg.img_channels, cfg.channels[0])
        self.unet = UNet(cfg.cond_channels, cfg.depths, cfg.channels, cfg.attn_depths)
        self.norm_out = GroupNorm(cfg.channels[0])
        self.conv_out = conv3x3(cfg.channels[0], cfg.img_channels)
        nn.init.zeros_(self.conv_out.weight)

    def forward(
        self, noisy_next_obs: Tensor, c_noise: Tensor, obs: Tensor, act: Tensor | None, c_noise_cond: Tensor | None
    ) -> Tensor:
        """act: b x t action indices, or b x t x A multi-hot (CS:GO), or None (upsampler)."""
        cond = self.noise_emb(c_noise)
        if self.cfg.noise_cond_emb:
            cond = cond + self.noise_cond_emb(c_noise_cond)
        if act is not None:
            multi_hot = act.ndim == 3
            cond = cond + (self.act_emb[1](act.float() @ self.act_emb[0].weight) if multi_hot else self.act_emb(act))
        cond = self.cond_proj(cond)
        x = self.conv_in(torch.cat((obs, noisy_next_obs), dim=1))
        x = self.unet(x, cond)
        return self.conv_out(F.silu(self.norm_out(x)))
