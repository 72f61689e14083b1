"""Episodes on disk: one ``.npz`` file per episode (an open format numpy, and anyone, can read).

Each file holds ``obs`` (T x H x W x 3 uint8), ``act`` (T int64), ``rew`` (T float32), ``end`` and
``trunc`` (T uint8) and ``final_obs`` (H x W x 3, the frame after the last step): step t shows frame
``obs[t]``, takes ``act[t]``, gets ``rew[t]``, and the episode ended (or was cut) after step t when
``end[t]`` (``trunc[t]``). Files are written atomically. DIAMOND
datasets, Genie samples and recordings all use it.
"""

import os
import zipfile
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

    @staticmethod
    def check(path: str | os.PathLike) -> int:
        """The number of steps in an episode file, checked from its arrays' headers alone (no frame is
        decompressed, so a folder of thousands is checked in moments): every field present, ``obs``
        T x H x W x 3 uint8, the per-step fields T long, ``final_obs`` H x W x 3. A one-line UserError if not."""
        try:
            with zipfile.ZipFile(path) as archive:
                headers = {}
                for name in FIELDS:
                    if f"{name}.npy" not in archive.namelist():
                        raise UserError(f"{path}: not an episode file (no {name} array)")
                    with archive.open(f"{name}.npy") as f:
                        headers[name] = _array_header(f)
        except (OSError, zipfile.BadZipFile, ValueError, EOFError) as e:
            raise UserError(f"{path}: not a readable episode file ({e})") from None
        (obs_shape, obs_dtype), (final_shape, _) = headers["obs"], headers["final_obs"]
        if len(obs_shape) != 4 or obs_shape[-1] != 3 or obs_dtype != np.uint8:
            raise UserError(f"{path}: obs must be T x H x W x 3 uint8 frames, got {obs_shape} {obs_dtype}")
        steps = obs_shape[0]
        for name in ("act", "rew", "end", "trunc"):
            if headers[name][0] != (steps,):
                raise UserError(f"{path}: {name} has shape {headers[name][0]}, expected ({steps},) for {steps} frames")
        if final_shape != obs_shape[1:]:
            raise UserError(f"{path}: final_obs has shape {final_shape}, expected {obs_shape[1:]}")
        return steps


def _array_header(f) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from the start of a ``.npy`` stream."""
    version = np.lib.format.read_magic(f)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(f)
    return shape, dtype


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
