"""DIAMOND's actor-critic: conv encoder, LSTM cell, policy and value heads; REINFORCE with lambda-returns."""

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Categorical

from worldmodels.core.config import not_halvable, same_lengths
from worldmodels.diamond.lstm import init_lstm
from worldmodels.nn.unet import SmallResBlock, conv3x3


@dataclass
class ActorCriticConfig:
    lstm_dim: int = 512
    img_channels: int = 3
    img_size: int = 64
    channels: list[int] = field(default_factory=lambda: [32, 32, 64, 64])
    down: list[int] = field(default_factory=lambda: [1, 1, 1, 1], metadata={"min": 0})
    num_actions: int = 18

    def problems(self) -> list[str]:
        return same_lengths(self, "channels", "down") + not_halvable(self.img_size, sum(self.down))


@dataclass
class ActorCriticLossConfig:
    backup_every: int = 15
    gamma: float = 0.985
    lambda_: float = 0.95
    weight_value_loss: float = 1.0
    weight_entropy_loss: float = 0.001


class ActorCriticEncoder(nn.Module):
    def __init__(self, cfg: ActorCriticConfig):
        super().__init__()
        layers: list[nn.Module] = [conv3x3(cfg.img_channels, cfg.channels[0])]
        for i, c in enumerate(cfg.channels):
            layers.append(SmallResBlock(cfg.channels[max(0, i - 1)], c))
            if cfg.down[i]:
                layers.append(nn.MaxPool2d(2))
        self.encoder = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.encoder(x)


class ActorCritic(nn.Module):
    def __init__(self, cfg: ActorCriticConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = ActorCriticEncoder(cfg)
        lstm_input = cfg.channels[-1] * (cfg.img_size // 2 ** sum(cfg.down)) ** 2
        self.lstm = nn.LSTMCell(lstm_input, cfg.lstm_dim)
        self.critic_linear = nn.Linear(cfg.lstm_dim, 1)
        self.actor_linear = nn.Linear(cfg.lstm_dim, cfg.num_actions)
        for layer in (self.actor_linear, self.critic_linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        init_lstm(self.lstm)

    @property
    def policy_trained(self) -> bool:
        """The policy head starts at zero (a uniform policy) and any training moves it: False means this actor
        would play at random, as a world-model-only run's does."""
        return bool(self.actor_linear.weight.any())

    def initial_state(self, batch_size: int, device=None) -> tuple[Tensor, Tensor]:
        zeros = torch.zeros(batch_size, self.cfg.lstm_dim, device=device)
        return zeros, zeros.clone()

    def predict_act_value(self, obs: Tensor, hx_cx: tuple[Tensor, Tensor]):
        """Action logits (b x A), value (b) and the new LSTM state for frames obs: b x c x h x w in [-1, 1]."""
        return self.predict_from_features(self.features(obs), hx_cx)

    def features(self, obs: Tensor) -> Tensor:
        """What the LSTM reads of frames obs: b x c x h x w -> b x d."""
        return self.encoder(obs).flatten(start_dim=1)

    def predict_from_features(self, x: Tensor, hx_cx: tuple[Tensor, Tensor]):
        hx, cx = self.lstm(x, hx_cx)
        return self.actor_linear(hx), self.critic_linear(hx).squeeze(1), (hx, cx)

    def loss(self, act, rew, end, trunc, logits_act, val, val_bootstrap, cfg: ActorCriticLossConfig):
        """REINFORCE with a lambda-return baseline, value regression and an entropy bonus."""
        dist = Categorical(logits=logits_act)
        entropy = dist.entropy().mean()
        returns = lambda_returns(rew, end, trunc, val_bootstrap, cfg.gamma, cfg.lambda_)
        loss_actions = (-dist.log_prob(act) * (returns - val).detach()).mean()
        loss_values = cfg.weight_value_loss * F.mse_loss(val, returns)
        loss_entropy = -cfg.weight_entropy_loss * entropy
        return loss_actions + loss_values + loss_entropy


@torch.no_grad()
def lambda_returns(rew: Tensor, end: Tensor, trunc: Tensor, val_bootstrap: Tensor, gamma: float, lambda_: float):
    """TD(lambda) targets over b x t rollouts; rewards clipped to their sign, no bootstrap past an end."""
    rew = rew.sign()
    end_or_trunc = (end + trunc).clip(max=1)
    returns = rew + (1 - end) * gamma * ((1 - trunc) * (1 - lambda_) + trunc) * val_bootstrap
    if lambda_ == 0:
        return returns
    last = val_bootstrap[:, -1]
    for t in reversed(range(rew.size(1))):
        returns[:, t] += end_or_trunc[:, t].logical_not() * gamma * lambda_ * last
        last = returns[:, t]
    return returns
