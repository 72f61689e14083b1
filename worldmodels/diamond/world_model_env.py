"""Imagination: the world model as a batched environment (next frame from the denoiser, reward and end
sampled from the reward/end model), started from segments of real episodes."""

from collections.abc import Callable

import torch
from torch import Tensor
from torch.distributions import Categorical

from worldmodels.diamond.rew_end_model import RewEndModel
from worldmodels.diffusion.karras import DiffusionSampler

# initial_condition(n) -> obs (n x t x c x h x w in [-1, 1]) and actions (n x t) of real segments
InitialConditions = Callable[[int], tuple[Tensor, Tensor]]


class WorldModelEnv:
    def __init__(
        self,
        sampler: DiffusionSampler,
        rew_end_model: RewEndModel,
        initial_conditions: InitialConditions,
        num_envs: int = 1,
        horizon: int = 15,
    ):
        self.sampler = sampler
        self.rew_end_model = rew_end_model
        self.initial_conditions = initial_conditions
        self.num_envs = num_envs
        self.horizon = horizon

    @property
    def device(self) -> torch.device:
        return self.sampler.denoiser.device

    def _start(self, n: int):
        """Fresh starts: real segments, with the reward/end LSTM burned in on their transitions."""
        obs, act = self.initial_conditions(n)
        obs, act = obs.to(self.device), act.to(self.device)
        _, _, (hx, cx) = self.rew_end_model.predict_rew_end(obs[:, :-1], act[:, :-1], obs[:, 1:])
        return obs, act, hx, cx

    @torch.no_grad()
    def reset(self) -> Tensor:
        """The last frame of each start (b x c x h x w)."""
        self.obs_buffer, self.act_buffer, self.hx, self.cx = self._start(self.num_envs)
        self.ep_len = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        return self.obs_buffer[:, -1]

    @torch.no_grad()
    def step(self, act: Tensor):
        """obs, rew (in {-1, 0, 1}), end, trunc, info; finished envs restart from new real segments.

        ``info["final_observation"]`` holds the last imagined frame of the envs that restarted and
        ``info["burnin_obs"]`` the frames before their new start (to burn in a policy's memory).
        """
        self.act_buffer[:, -1] = act
        next_obs, _ = self.sampler.sample(self.obs_buffer, self.act_buffer)
        logits_rew, logits_end, (self.hx, self.cx) = self.rew_end_model.predict_rew_end(
            self.obs_buffer[:, -1:], self.act_buffer[:, -1:], next_obs.unsqueeze(1), (self.hx, self.cx)
        )
        rew = Categorical(logits=logits_rew).sample().squeeze(1) - 1.0
        end = Categorical(logits=logits_end).sample().squeeze(1)
        self.ep_len += 1
        trunc = (self.ep_len >= self.horizon).long()
        self.obs_buffer = self.obs_buffer.roll(-1, dims=1)
        self.act_buffer = self.act_buffer.roll(-1, dims=1)
        self.obs_buffer[:, -1] = next_obs
        info = {}
        dead = torch.logical_or(end.bool(), trunc.bool())
        if dead.any():
            info["final_observation"] = next_obs[dead]
            obs, act_, hx, cx = self._start(int(dead.sum()))
            self.obs_buffer[dead], self.act_buffer[dead] = obs, act_
            self.hx[:, dead], self.cx[:, dead] = hx, cx
            self.ep_len[dead] = 0
            info["burnin_obs"] = self.obs_buffer[dead, :-1]
        return self.obs_buffer[:, -1], rew, end, trunc, info
