"""Real experience for DIAMOND: the policy (with epsilon-random actions) plays the preprocessed Atari game
and finished episodes go to an on-disk dataset. The game keeps running across calls, as in training.
A scripted player (``BreakoutTracker``) can stand in for the policy, to collect data that shows the game."""

import math
import pickle

import numpy as np
import torch
from rich.progress import track
from torch.distributions import Categorical

from worldmodels.data.episodes import Episode, EpisodeDataset
from worldmodels.diamond.actor_critic import ActorCritic
from worldmodels.envs.atari import DiamondAtari
from worldmodels.envs.breakout_tracker import BreakoutTracker
from worldmodels.envs.gymnasium_env import DiamondGym


def to_model(frames: np.ndarray, device) -> torch.Tensor:
    """uint8 ... x H x W x 3 -> float ... x 3 x H x W in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).to(device).movedim(-1, -3).float().div(127.5).sub(1)


def segments_to_model(segments: dict[str, np.ndarray], device) -> dict[str, torch.Tensor]:
    """Sampled segments as model tensors; padding frames are 0 in model space (gray), as DIAMOND pads."""
    batch = {k: torch.from_numpy(v).to(device) for k, v in segments.items() if k != "obs"}
    batch["obs"] = to_model(segments["obs"], device) * batch["frame"][:, :, None, None, None]
    return batch


class Policy:
    """The actor-critic acting on single frames with its LSTM state; samples actions like the original."""

    def __init__(self, actor_critic: ActorCritic):
        self.actor_critic = actor_critic
        self.reset()

    def reset(self) -> None:
        self.hx_cx = self.actor_critic.initial_state(1, next(self.actor_critic.parameters()).device)

    @torch.no_grad()
    def act(self, obs: torch.Tensor) -> tuple[int, float, float]:
        """Action, entropy (bits) and value for one frame (3 x H x W in [-1, 1])."""
        logits, value, self.hx_cx = self.actor_critic.predict_act_value(obs.unsqueeze(0), self.hx_cx)
        dist = Categorical(logits=logits)
        return int(dist.sample()), dist.entropy().item() / math.log(2), value.item()


class Collector:
    def __init__(
        self,
        actor_critic: ActorCritic,
        env: DiamondAtari | DiamondGym,
        dataset: EpisodeDataset,
        epsilon: float = 0.0,
        seed=None,
        scripted: BreakoutTracker | None = None,
    ):
        self.policy, self.scripted = Policy(actor_critic), scripted
        self.env, self.dataset, self.epsilon = env, dataset, epsilon
        self.rng = np.random.default_rng(seed)
        self.obs: np.ndarray | None = None
        self.steps: list[tuple] = []  # the episode in progress

    @torch.no_grad()
    def collect(self, num_steps: int, description: str = "collecting", quiet: bool = False) -> list[float]:
        """Play ``num_steps`` steps; returns the returns of the episodes that finished."""
        returns = []
        device = next(self.policy.actor_critic.parameters()).device
        label = f"{description} ({num_steps} real steps)"
        for _ in track(range(num_steps), description=label, transient=True, disable=quiet):
            if self.obs is None:
                self.obs = self.env.reset()
                self.policy.reset()
            if self.scripted is None:
                action, _, _ = self.policy.act(to_model(self.obs, device))
            else:
                action = self.scripted(self.env.ale.getRAM())
            if self.rng.random() < self.epsilon:
                action = int(self.rng.integers(self.env.num_actions))
            next_obs, rew, end, trunc, _ = self.env.step(action)
            self.steps.append((self.obs, action, rew, end, trunc))
            self.obs = next_obs
            if end or trunc:
                returns.append(self._store(next_obs))
        return returns

    def flush(self) -> None:
        """Store the episode in progress as truncated (at the end of a collection for play)."""
        if self.steps:
            obs, action, rew, end, _ = self.steps[-1]
            self.steps[-1] = (obs, action, rew, end, True)
            self._store(self.obs)

    def _store(self, final_obs: np.ndarray) -> float:
        episode = Episode.from_steps(*zip(*self.steps), final_obs=final_obs)
        self.dataset.add(episode)
        self.steps, self.obs = [], None
        return float(episode.rew.sum())

    def state_dict(self) -> dict:
        """Everything needed to carry on exactly: the game (ALE state), the episode so far, the RNGs."""
        return {
            "env": pickle.dumps(self.env.get_state()),
            "obs": self.obs,
            "steps": self.steps,
            "rng": self.rng.bit_generator.state,
            "policy_hx_cx": self.policy.hx_cx,
        }

    def load_state_dict(self, state: dict) -> None:
        self.env.set_state(pickle.loads(state["env"]))
        self.obs, self.steps = state["obs"], state["steps"]
        self.rng.bit_generator.state = state["rng"]
        self.policy.hx_cx = state["policy_hx_cx"]
