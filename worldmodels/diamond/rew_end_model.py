"""DIAMOND's reward/termination model: a conditioned conv encoder of (frame, next frame), an LSTM, two heads."""

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from worldmodels.core.config import not_halvable, same_lengths
from worldmodels.diamond.lstm import init_lstm
from worldmodels.nn.unet import Downsample, ResBlocks, conv3x3


@dataclass
class RewEndModelConfig:
    lstm_dim: int = 512
    img_channels: int = 3
    img_size: int = 64
    cond_channels: int = 128
    depths: list[int] = field(default_factory=lambda: [2, 2, 2, 2])
    channels: list[int] = field(default_factory=lambda: [32, 32, 32, 32])
    attn_depths: list[int] = field(default_factory=lambda: [0, 0, 0, 0], metadata={"min": 0})
    num_actions: int = 18

    def problems(self) -> list[str]:
        halvings = len(self.depths) - 1  # one downsampling between stages
        return same_lengths(self, "depths", "channels", "attn_depths") + not_halvable(self.img_size, halvings)


class RewEndEncoder(nn.Module):
    def __init__(self, in_channels: int, cond_channels: int, depths, channels, attn_depths):
        super().__init__()
        self.conv_in = conv3x3(in_channels, channels[0])
        blocks = []
        for i, n in enumerate(depths):
            c1, c2 = channels[max(0, i - 1)], channels[i]
            blocks.append(ResBlocks([c1] + [c2] * (n - 1), [c2] * n, cond_channels, bool(attn_depths[i])))
        blocks.append(ResBlocks([channels[-1]] * 2, [channels[-1]] * 2, cond_channels, attn=True))
        self.blocks = nn.ModuleList(blocks)
        self.downsamples = nn.ModuleList([nn.Identity()] + [Downsample(c) for c in channels[:-1]] + [nn.Identity()])

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        x = self.conv_in(x)
        for block, down in zip(self.blocks, self.downsamples):
            x, _ = block(down(x), cond)
        return x


class RewEndModel(nn.Module):
    def __init__(self, cfg: RewEndModelConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = RewEndEncoder(2 * cfg.img_channels, cfg.cond_channels, cfg.depths, cfg.channels, cfg.attn_depths)
        self.act_emb = nn.Embedding(cfg.num_actions, cfg.cond_channels)
        lstm_input = cfg.channels[-1] * (cfg.img_size // 2 ** (len(cfg.depths) - 1)) ** 2
        self.lstm = nn.LSTM(lstm_input, cfg.lstm_dim, batch_first=True)
        self.head = nn.Sequential(
            nn.Linear(cfg.lstm_dim, cfg.lstm_dim),
            nn.SiLU(),
            nn.Linear(cfg.lstm_dim, 3 + 2, bias=False),  # reward sign classes {-1, 0, 1}, then end {no, yes}
        )
        init_lstm(self.lstm)

    def predict_rew_end(self, obs: Tensor, act: Tensor, next_obs: Tensor, hx_cx=None):
        """Logits for reward class (b x t x 3) and end (b x t x 2), and the new LSTM state.

        obs, next_obs: b x t x c x h x w; act: b x t.
        """
        b, t = obs.shape[:2]
        x = torch.cat((obs.flatten(0, 1), next_obs.flatten(0, 1)), dim=1)
        x = self.encoder(x, self.act_emb(act.reshape(b * t)))
        x, hx_cx = self.lstm(x.reshape(b, t, -1), hx_cx)
        logits = self.head(x)
        return logits[:, :, :3], logits[:, :, 3:], hx_cx

    def loss(self, obs: Tensor, act: Tensor, rew: Tensor, end: Tensor, mask: Tensor) -> Tensor:
        """Cross-entropy of reward sign and termination on segments (b x t ...), over unpadded steps.

        ``obs`` has the frame after the last step at the end (t + 1 frames for t actions).
        """
        logits_rew, logits_end, _ = self.predict_rew_end(obs[:, :-1], act, obs[:, 1:])
        target_rew = rew[mask].sign().long().add(1)
        loss_rew = F.cross_entropy(logits_rew[mask], target_rew)
        loss_end = F.cross_entropy(logits_end[mask], end[mask].long())
        return loss_rew + loss_end
