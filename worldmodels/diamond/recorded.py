"""Recorded play as DIAMOND training data: a folder of episode files of the game (``diamond-play -r``
recordings of a person playing the real game, an earlier run's ``dataset/``), checked and copied into a run's
dataset before it collects anything itself.

Every file is checked before any is copied, so a bad folder leaves the run untouched and names the file."""

from pathlib import Path

import numpy as np

from worldmodels.core.errors import UserError
from worldmodels.data.episodes import Episode, EpisodeDataset


def recorded_episodes(folder: Path) -> list[Path]:
    """The episode files in ``folder`` and its subfolders, in a stable order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"--data {folder}: not a folder")
    paths = sorted(folder.rglob("episode_*.npz"))
    if not paths:
        raise UserError(
            f"--data {folder}: no episode files (episode_*.npz) in it; record some with diamond-play -r "
            "(in a real game mode)"
        )
    return paths


def check_recorded(path: Path, frame_shape: tuple[int, ...], num_actions: int) -> int:
    """One recorded episode checked against the model it will train (frame size, actions in range); its
    number of steps."""
    Episode.check(path)  # fields, shapes and lengths from the headers, before decompressing anything
    episode = Episode.load(path)
    if episode.obs.shape[1:] != frame_shape:
        raise UserError(
            f"{path}: frames are {'x'.join(map(str, episode.obs.shape[1:]))}, the model takes "
            f"{'x'.join(map(str, frame_shape))}"
        )
    if not np.issubdtype(episode.act.dtype, np.integer):
        raise UserError(f"{path}: actions must be integers, got {episode.act.dtype}")
    if len(episode) and not (0 <= episode.act.min() and episode.act.max() < num_actions):
        raise UserError(
            f"{path}: actions {episode.act.min()}..{episode.act.max()} are outside this game's 0..{num_actions - 1}"
        )
    return len(episode)


def import_recorded(folder: Path, dataset: EpisodeDataset, frame_shape: tuple[int, ...], num_actions: int) -> int:
    """Copy every recorded episode under ``folder`` into ``dataset`` (all checked first, one at a time in
    memory); the number of steps copied."""
    paths = recorded_episodes(folder)
    steps = sum(check_recorded(path, frame_shape, num_actions) for path in paths)
    for path in paths:
        dataset.add(Episode.load(path))
    return steps
