"""Episodes on disk: one ``.npz`` file per episode (an open format numpy, and anyone, can read).

Each file holds ``obs`` (T x H x W x 3 uint8), ``act`` (T int64), ``rew`` (T float32), ``end`` and
``trunc`` (T uint8) and ``final_obs`` (H x W x 3, the frame after the last step): step t shows frame
``obs[t]``, takes ``act[t]``, gets ``rew[t]``, and the episode ended (or was cut) after step t when
``end[t]`` (``trunc[t]``). Files are written atomically. DIAMOND
datasets, Genie samples and recordings all use it.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from worldmodels.core.errors import UserError
from worldmodels.core.files import atomic_path

FIELDS = ("obs", "act", "rew", "end", "trunc", "final_obs")


@dataclass
class Episode:
    obs: np.ndarray
    act: np.ndarray
    rew: np.ndarray
    end: np.ndarray
    trunc: np.ndarray
    final_obs: np.ndarray

    def __len__(self) -> int:
        return len(self.act)

    @classmethod
    def from_steps(cls, obs: list, act: list, rew: list, end: list, trunc: list, final_obs) -> "Episode":
        return cls(
            np.stack(obs).astype(np.uint8),
            np.asarray(act, np.int64),
            np.asarray(rew, np.float32),
            np.asarray(end, np.uint8),
            np.asarray(trunc, np.uint8),
            np.asarray(final_obs, np.uint8),
        )

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, **{k: getattr(self, k) for k in FIELDS})
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Episode":
        try:
            with np.load(path) as data:
                missing = [k for k in FIELDS if k not in data]
                if missing:
                    raise UserError(f"{path}: not an episode file (missing {', '.join(missing)})")
                episode = cls(*(data[k] for k in FIELDS))
        except (OSError, ValueError) as e:
            raise UserError(f"{path}: not a readable episode file ({e})") from None
        if not (len(episode.obs) == len(episode.act) == len(episode.rew) == len(episode.end)):
            raise UserError(f"{path}: episode fields have different lengths")
        return episode


class EpisodeDataset:
    """A folder of episode files, numbered in the order they were added."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._cache: dict[Path, Episode] = {}

    @property
    def paths(self) -> list[Path]:
        return sorted(self.root.glob("episode_*.npz"))

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Episode:
        path = self.paths[index]
        if path not in self._cache:
            self._cache[path] = Episode.load(path)
        return self._cache[path]

    @property
    def next_id(self) -> int:
        """The number of the next episode added: one past the highest, so a gap never reuses a number."""
        paths = self.paths
        return int(paths[-1].stem.split("_")[1]) + 1 if paths else 0

    def add(self, episode: Episode) -> Path:
        return episode.save(self.root / f"episode_{self.next_id:06d}.npz")

    @property
    def num_steps(self) -> int:
        return sum(len(self[i]) for i in range(len(self)))
