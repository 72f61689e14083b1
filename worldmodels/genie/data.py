"""Clips of procgen episodes for Genie: windows of consecutive frames, as float video in [-1, 1].

genie-sample stores episodes and genie-split links them into ``<root>/<game>/train|val|test`` (one
``episode_<n>.npz`` each, see worldmodels.data.episodes). A game that is not procgen's (Atari episodes of
diamond-train or diamond-play -r, episodes-import) is read the same way from the folder of its name.

Every episode is cut into back-to-back tiles of ``clip_length`` frames, one dataset item per tile, so long
episodes weigh more. Training shifts each tile by a random offset so that every frame can start a clip;
validation and test keep the tiles fixed, so every evaluation sees the same clips.
"""

import functools
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from worldmodels.core.errors import UserError
from worldmodels.data.episodes import Episode, EpisodeDataset
from worldmodels.data.split_data import SplitDataModule
from worldmodels.envs.procgen import GAMES, resolve_game


def game_folder(env_name: str) -> str:
    """The data folder of a game: procgen's name for a procgen game (any case), otherwise the name as given
    (one folder name, e.g. ``breakout`` for Atari episodes put there by hand)."""
    if env_name.strip().lower() in GAMES:
        return resolve_game(env_name)
    if not env_name or Path(env_name).name != env_name or env_name in (".", ".."):
        raise UserError(f"env_name {env_name!r}: a procgen game or one folder name under the data root")
    return env_name


def to_video(frames: np.ndarray) -> Tensor:
    """uint8 t h w c -> float t c h w in [-1, 1], the convention of all Genie code."""
    return torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 127.5 - 1.0


@functools.lru_cache(maxsize=64)  # per worker; a 1000-step episode is 12 MB of frames once decompressed
def load_episode(path: Path) -> Episode:
    return Episode.load(path)


class ClipDataset(Dataset):
    """Item i: (video t c h w float in [-1, 1], true actions t long); action k is taken at frame k."""

    def __init__(self, folder: str | Path, clip_length: int, random_offsets: bool):
        self.folder, self.clip_length, self.random_offsets = Path(folder), clip_length, random_offsets
        self.paths = [path.resolve() for path in EpisodeDataset(self.folder).paths]  # load_episode's cache key
        self.lengths = [Episode.check(path) for path in self.paths]
        self.tiles = [(e, k * clip_length) for e, n in enumerate(self.lengths) for k in range(n // clip_length)]
        if not self.tiles:
            raise UserError(
                f"{self.folder}: no episode has {clip_length} frames; sample longer ones (genie-sample --timeout) "
                "or lower --data.clip_length"
            )

    def __len__(self) -> int:
        return len(self.tiles)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        episode, start = self.tiles[index]
        if self.random_offsets:
            last_start = self.lengths[episode] - self.clip_length
            start = min(start + int(torch.randint(self.clip_length, ())), last_start)
        data = load_episode(self.paths[episode])
        window = slice(start, start + self.clip_length)
        return to_video(data.obs[window]), torch.from_numpy(data.act[window])


class GenieDataModule(SplitDataModule):
    """Clips from ``<root>/<env_name>/{train,val,test}`` as written by genie-sample then genie-split."""

    def __init__(
        self,
        root: str = "data",
        env_name: str = "coinrun",
        clip_length: int = 16,
        batch_size: int = 48,
        num_workers: int = 0,
    ):
        super().__init__(batch_size, num_workers)
        self.root, self.game, self.clip_length = Path(root), game_folder(env_name), clip_length

    def split(self, name: str) -> ClipDataset:
        folder = self.root / self.game / name
        if not any(folder.glob("episode_*.npz")):
            state = "has no episode files (episode_*.npz)" if folder.is_dir() else "not found"
            first = (
                f"genie-sample --env_name {self.game} --root {self.root}"
                if self.game in GAMES
                else f"episode files in {self.root / self.game / 'source'}"
            )
            raise UserError(
                f"{folder}: {state}; create it with {first} then genie-split --env_name {self.game} --root {self.root}"
            )
        return ClipDataset(folder, self.clip_length, random_offsets=name == "train")
