"""The real Atari game as a play backend: the baseline every Atari world model is compared to."""

import numpy as np

from worldmodels.envs.atari import AtariKeymap, make_atari
from worldmodels.play.backend import Backend, InputState, Step


class AtariBackend(Backend):
    fps = 15.0

    def __init__(self, env_id: str = "ALE/Breakout-v5", seed: int | None = None):
        self.env = make_atari(env_id, render_mode=None)
        self.title = f"{env_id} (real game)"
        self.keymap = AtariKeymap(self.env.unwrapped.get_action_meanings())
        self.seed = seed
        self.episode_return = 0.0

    def reset(self) -> np.ndarray:
        obs, _ = self.env.reset(seed=self.seed)
        self.seed = None  # seed only the first episode, so later ones differ
        self.episode_return = 0.0
        return obs

    def step(self, action: int) -> Step:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.episode_return += float(reward)
        fields = {
            "action": self.keymap.action_meanings[action],
            "reward": f"{reward:g}",
            "return": f"{self.episode_return:g}",
            "lives": info.get("lives", "-"),
        }
        return Step(obs, fields, done=terminated or truncated)

    def action(self, inputs: InputState) -> int:
        return self.keymap(set(inputs.keys))

    def scripted_action(self, rng: np.random.Generator) -> int:
        return int(rng.integers(len(self.keymap.action_meanings)))

    def help_lines(self) -> list[str]:
        return ["Game keys:", *self.keymap.help_lines()]
