"""Browse recorded episode datasets in the play app (DIAMOND's ``--dataset`` mode)."""

from pathlib import Path

import numpy as np

from worldmodels.core.errors import UserError
from worldmodels.data.episodes import EpisodeDataset
from worldmodels.play.backend import Backend, InputState, Step


class DatasetViewer(Backend):
    """Up/down: episode; left/right (held): time -1/+1; PageUp/PageDown: -10/+10; m: next dataset."""

    title = "Dataset viewer"
    fps = 15.0
    game_actions = False  # its "actions" move through the data: recordings are for watching only

    def __init__(self, root: Path):
        if not root.is_dir():
            raise UserError(f"{root}: folder not found")
        folders = [root] if any(root.glob("episode_*.npz")) else sorted(p for p in root.glob("*") if p.is_dir())
        self.datasets = [EpisodeDataset(f) for f in folders if any(f.glob("episode_*.npz"))]
        if not self.datasets:
            raise UserError(f"{root}: no episode datasets here (folders of episode_*.npz files)")
        self.dataset_index, self.episode_index, self.t = 0, 0, 0
        self.jump = 0

    @property
    def dataset(self) -> EpisodeDataset:
        return self.datasets[self.dataset_index]

    def reset(self) -> np.ndarray:
        self.t = 0
        return self.episode.obs[0]

    @property
    def episode(self):
        return self.dataset[self.episode_index]

    def action(self, inputs: InputState) -> int:
        step = (1 if "right" in inputs.keys else 0) - (1 if "left" in inputs.keys else 0)
        step, self.jump = step + self.jump, 0
        return step

    def scripted_action(self, rng: np.random.Generator) -> int:
        return 1

    def step(self, action: int) -> Step:
        episode = self.episode
        self.t = int(np.clip(self.t + action, 0, len(episode) - 1))
        t = self.t
        act = int(episode.act[t])
        rew = episode.rew
        fields = {
            "dataset": self.dataset.root.name,
            "episode": f"{self.episode_index + 1}/{len(self.dataset)}",
            "return": f"+{rew[rew > 0].sum():g} / {rew[rew < 0].sum():g} / {rew.sum():g}",
            "action": act,
            "reward": f"{rew[t]:g}",
            "return so far / to go": f"{rew[: t + 1].sum():g} / {rew[t + 1 :].sum():g}",
            "end / trunc": f"{bool(episode.end[t])} / {bool(episode.trunc[t])}",
            "timestep": f"{t + 1}/{len(episode)}",
        }
        return Step(episode.obs[t], fields)

    def on_key(self, key: str) -> bool:
        if key == "m":
            self.dataset_index = (self.dataset_index + 1) % len(self.datasets)
            self.episode_index = 0
        elif key in ("up", "down"):
            self.episode_index = (self.episode_index + (1 if key == "up" else -1)) % len(self.dataset)
        elif key in ("page up", "page down"):
            self.jump = 10 if key == "page down" else -10
            return False
        else:
            return False
        return True

    def help_lines(self) -> list[str]:
        return [
            "up/down       next / previous episode",
            "left/right    step back / forward (hold)",
            "PgUp/PgDn     10 steps back / forward",
            "m             next dataset",
            "Enter         back to the first step",
        ]
