"""DIAMOND in the play app: the policy or a human plays in the world model, the real test env or the
real train env (left/right arrows cycle), as in the original ``play.py``."""

import time
from pathlib import Path

import numpy as np
import torch

from worldmodels.core.device import autocast
from worldmodels.core.video import to_hwc_uint8
from worldmodels.data.episodes import Episode, EpisodeDataset
from worldmodels.data.segments import sample_segments
from worldmodels.diamond.agent import Agent
from worldmodels.diamond.collect import Collector, Policy, segments_to_model, to_model
from worldmodels.diamond.games import make_game
from worldmodels.diamond.world_model_env import WorldModelEnv
from worldmodels.diffusion.karras import DiffusionSampler
from worldmodels.envs.atari import DiamondAtari
from worldmodels.envs.gymnasium_env import DiamondGym
from worldmodels.play.backend import Backend, InputState, Step


def collect_starts(agent: Agent, env: DiamondAtari | DiamondGym, num_steps: int, dataset: EpisodeDataset) -> None:
    """Real episodes played by the policy (at random without a trained one): the world model starts from
    segments of them. Said before and after: on a CPU this takes a while, once per model."""
    policy_trained = agent.actor_critic.policy_trained
    who = "the policy" if policy_trained else "random actions"
    print(f"playing {num_steps} real steps with {who}, for the world model to start from (once: kept in "
          f"{dataset.root})...", flush=True)  # fmt: skip
    start = time.perf_counter()
    collector = Collector(agent.actor_critic, env, dataset, epsilon=0.0 if policy_trained else 1.0)
    collector.collect(num_steps, "world-model starts")
    collector.flush()
    print(f"  {len(dataset)} episodes, {dataset.num_steps} steps in {time.perf_counter() - start:.0f} s", flush=True)


class DiamondBackend(Backend):
    """Three environments (world model, real test, real train), controlled by the policy or a human."""

    fps = 15.0

    def __init__(
        self,
        agent: Agent,
        game: str,
        start_dataset: EpisodeDataset,
        horizon: int = 50,
        sampler_kwargs: dict | None = None,
        record_root: Path | None = None,
        seed: int = 0,
        half: bool = False,
    ):
        """An actor that never trained (a world-model-only run): the controller is named for what it does,
        random actions, instead of "policy"."""
        self.agent = agent
        self.device = agent.device
        self.title = f"DIAMOND {game}"
        self.rng = np.random.default_rng(seed)
        self.n = agent.cfg.denoiser.inner_model.num_steps_conditioning
        self.start_dataset = start_dataset
        sampler = DiffusionSampler(agent.denoiser, **(sampler_kwargs or {}))
        self.wm = WorldModelEnv(sampler, agent.rew_end_model, self._initial_conditions, horizon=horizon)
        test_env = make_game(game, done_on_life_loss=False, seed=seed)
        self.envs = {"wm": self.wm, "test": test_env, "train": make_game(game, done_on_life_loss=True, seed=seed)}
        self.env_names = list(self.envs)
        self.env_name = "wm"
        self.keymap, self.action_meanings = test_env.keymap(), test_env.action_meanings
        self.human = False
        self.policy = Policy(agent.actor_critic) if agent.actor_critic.policy_trained else None
        self.record_root = record_root
        self._steps: list = []  # the episode being recorded (-r)
        self.obs: torch.Tensor | None = None
        self.half = half

    def _initial_conditions(self, n: int):
        batch = segments_to_model(sample_segments(self.start_dataset, self.rng, n, self.n), self.device)
        return batch["obs"], batch["act"]

    # ----- Backend interface ---------------------------------------------------------------
    def reset(self) -> np.ndarray:
        self._save_unfinished()
        env = self.envs[self.env_name]
        obs = env.reset()
        self.obs = obs[0] if self.env_name == "wm" else to_model(obs, self.device)
        self.t, self.episode_return = 0, 0.0
        if self.policy is not None:
            self.policy.reset()
        self._recording_name = f"rec_{self.env_name}_{ {'human': 'H', 'policy': 'pi'}.get(self.controller, 'rand') }"
        return to_hwc_uint8(self.obs)

    def action(self, inputs: InputState) -> int | None:
        return self.keymap(set(inputs.keys)) if self.human else None

    def scripted_action(self, rng: np.random.Generator) -> int | None:
        return int(rng.integers(len(self.action_meanings))) if self.human else None

    @torch.no_grad()
    def step(self, action: int | None) -> Step:
        entropy = value = None
        if action is None and self.policy is None:
            action = int(self.rng.integers(len(self.action_meanings)))
        elif action is None:
            action, entropy, value = self.policy.act(self.obs)
        prev_obs = self.obs
        if self.env_name == "wm":
            with autocast(self.device, enabled=self.half):
                next_obs, rew, end, trunc, info = self.wm.step(torch.tensor([action], device=self.device))
            next_obs = next_obs.float()
            rew, end, trunc = float(rew[0]), bool(end[0]), bool(trunc[0])
            final = info["final_observation"][0] if end or trunc else next_obs[0]
            self.obs = next_obs[0]
        else:
            frame, rew, end, trunc, _ = self.envs[self.env_name].step(action)
            final = self.obs = to_model(frame, self.device)
        self.t += 1
        self.episode_return += rew
        self._record(prev_obs, action, rew, end, trunc, final)
        fields = {
            "env": self.env_name,
            "control": self.controller,
            "timestep": self.t,
            "horizon": self.wm.horizon if self.env_name == "wm" else "-",
            "trunc": trunc,
            "done": end,
            "reward": f"{rew:.2f}",
            "return": f"{self.episode_return:.2f}",
            "action": self.action_meanings[action],
            "entropy": "-" if entropy is None else f"{entropy:.2f}",
            "value": "-" if value is None else f"{value:.2f}",
        }
        if end or trunc:
            why = "Dead" if end else ("Horizon" if self.env_name == "wm" else "Timed out")
            print(f"[{why}] return = {self.episode_return:g} - length = {self.t}")
        return Step(to_hwc_uint8(final), fields, done=end or trunc)

    def on_key(self, key: str) -> bool:
        if key == "m":
            self.human = not self.human
        elif key in ("up", "down") and self.env_name == "wm":
            self.wm.horizon = max(1, self.wm.horizon + (1 if key == "up" else -1))
        elif key in ("left", "right"):
            i = self.env_names.index(self.env_name) + (1 if key == "right" else -1)
            self.env_name = self.env_names[i % len(self.env_names)]
        else:
            return False
        return True

    @property
    def controller(self) -> str:
        return "human" if self.human else ("policy" if self.policy is not None else "random")

    def hud(self) -> dict[str, object]:
        return {"env": self.env_name, "control": self.controller}

    def help_lines(self) -> list[str]:
        return [
            f"m       controller: {'policy' if self.policy is not None else 'random'} / human (resets)",
            "up/down imagination horizon +1 / -1 (world model)",
            "left/right  environment: " + " / ".join(self.env_names),
            "Game keys (human control):",
            *self.keymap.help_lines(),
        ]

    def close(self) -> None:
        self._save_unfinished()

    # ----- recording played episodes as a dataset (-r) -------------------------------------------
    def _record(self, obs, action, rew, end, trunc, final_obs) -> None:
        if self.record_root is None:
            return
        self._steps.append((to_hwc_uint8(obs), action, rew, end, trunc))
        if end or trunc:
            self._save_recording(final_obs)

    def _save_unfinished(self) -> None:
        """An episode left before its end (quit, reset, a short headless run) is kept, marked truncated."""
        if not self._steps:
            return
        obs, action, rew, end, _ = self._steps[-1]
        self._steps[-1] = (obs, action, rew, end, True)
        self._save_recording(self.obs)

    def _save_recording(self, final_obs) -> None:
        episode = Episode.from_steps(*zip(*self._steps), final_obs=to_hwc_uint8(final_obs))
        path = EpisodeDataset(self.record_root / self._recording_name).add(episode)
        print(f"recorded {path}")
        self._steps = []
