"""Gameplay videos as episode files: ``clip.mp4`` plus one discrete action per frame beside it.

The layout is that of the public Oasis/VPT release: ``<stem>.mp4`` next to exactly one of
``<stem>.actions.npy`` (1-D integers), ``<stem>.actions.pt`` (a 1-D integer tensor) or
``<stem>.one_hot_actions.pt`` (T x K, one 1 per row), and optionally ``<stem>.rewards.npy`` (one float per
frame). Action t is taken at frame t, so a video of N frames needs N actions. Frames are resized to
size x size with INTER_AREA, as DIAMOND's Atari frames are. A recording is cut, not lost: each episode ends
truncated (``trunc`` on its last step, ``end`` never), and its last frame doubles as ``final_obs``.

Nothing reaches ``dest`` unless every video imports: episodes are first written one at a time into a hidden
folder beside it (so memory holds one video, not the whole folder), then moved in.
"""

import io
import os
import pickletools
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
import torch

from worldmodels.core.errors import UserError
from worldmodels.core.files import temp_dir_beside
from worldmodels.core.safe_load import load_data
from worldmodels.core.video import read_frames
from worldmodels.data.episodes import Episode, EpisodeDataset

ACTION_SUFFIXES = (".actions.npy", ".actions.pt", ".one_hot_actions.pt")
REWARD_SUFFIX = ".rewards.npy"
MAX_SIZE = 1024
_MINECRAFT = (
    "a list of per-step dicts (the Minecraft/VPT action format), not one discrete action per frame; "
    "convert it to a T x K one-hot tensor in {stem}.one_hot_actions.pt"
)


def find_pairs(source: Path, suffixes: tuple[str, ...] = ACTION_SUFFIXES) -> list[tuple[Path, Path, Path | None]]:
    """(video, action file, reward file or None) for every ``*.mp4`` under ``source``, sorted; the action file
    is ``<stem><suffix>`` for exactly one of ``suffixes`` (oasis-encode passes Oasis' float action files)."""
    if not source.is_dir():
        raise UserError(f"{source}: not a folder")
    videos = sorted(p for p in source.rglob("*") if p.suffix.lower() == ".mp4" and p.is_file())
    if not videos:
        raise UserError(f"{source}: no .mp4 video in it (or its subfolders)")
    pairs = []
    for video in videos:
        found = [video.with_name(video.stem + s) for s in suffixes if video.with_name(video.stem + s).is_file()]
        if not found:
            names = ", ".join(video.stem + s for s in suffixes)
            raise UserError(f"{video}: no action file beside it (one of {names})")
        if len(found) > 1:
            raise UserError(f"{video}: two action files for one video ({', '.join(p.name for p in found)}); keep one")
        rewards = video.with_name(video.stem + REWARD_SUFFIX)
        pairs.append((video, found[0], rewards if rewards.is_file() else None))
    return pairs


def _read_npy(path: Path, kinds: str, what: str) -> np.ndarray:
    """A 1-D ``.npy`` array whose dtype kind is in ``kinds``; its header is checked against the file size
    before anything is allocated, so a damaged header cannot ask for terabytes."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(f)
            data_bytes = os.path.getsize(path) - f.tell()
    except (OSError, ValueError, EOFError) as e:
        raise UserError(f"{path}: not a readable .npy file ({e})") from None
    if len(shape) != 1:
        raise UserError(f"{path}: expected a 1-D array of {what} (one per frame), got shape {shape}")
    if dtype.kind not in kinds:
        raise UserError(f"{path}: {what} must be {'integers' if kinds == 'iu' else 'numbers'}, got {dtype}")
    if shape[0] * dtype.itemsize > data_bytes:
        raise UserError(f"{path}: damaged .npy file (its header says {shape[0]} values, the file is shorter)")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: not a readable .npy file ({e})") from None


def _starts_with_list_of_dicts(path: Path) -> bool:
    """Whether a torch.save file holds a list of dicts, read from its first pickle opcodes (never run)."""
    try:
        with zipfile.ZipFile(path) as archive:
            member = next(n for n in archive.namelist() if n.endswith("data.pkl"))
            with archive.open(member) as f:
                head = f.read(64)
    except (OSError, zipfile.BadZipFile, StopIteration):
        return False
    ops = []
    try:
        for opcode, _, _ in pickletools.genops(io.BytesIO(head)):
            if opcode.name not in ("PROTO", "FRAME", "BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE", "MARK"):
                ops.append(opcode.name)
            if len(ops) == 2:
                break
    except Exception:  # the 64 bytes end mid-opcode: what was read so far decides
        pass
    return ops == ["EMPTY_LIST", "EMPTY_DICT"]


def _load_pt(path: Path) -> object:
    try:
        return load_data(path, "action file")
    except UserError:
        if _starts_with_list_of_dicts(path):  # VPT's dicts hold numpy arrays, which load_data refuses
            raise UserError(f"{path}: {_MINECRAFT.format(stem=_stem(path))}") from None
        raise


def _stem(path: Path) -> str:
    return next(path.name[: -len(s)] for s in ACTION_SUFFIXES if path.name.endswith(s))


def _one_hot_to_actions(path: Path, table: torch.Tensor, num_actions: int | None) -> np.ndarray:
    """The column of the single 1 in each row; the first row that is not exactly one-hot is named."""
    if table.ndim != 2:
        raise UserError(f"{path}: expected a T x K one-hot tensor, got shape {tuple(table.shape)}")
    if table.is_complex():
        raise UserError(f"{path}: expected a real one-hot tensor, got {table.dtype}")
    if num_actions is not None and table.shape[1] != num_actions:
        raise UserError(f"{path}: one-hot rows are {table.shape[1]} wide, the game has {num_actions} actions")
    binary = ((table == 0) | (table == 1)).all(dim=1)
    ones = (table == 1).sum(dim=1)
    bad = (~binary | (ones != 1)).nonzero()
    if len(bad):
        row = int(bad[0])
        if not binary[row] or ones[row] > 1:
            values = ", ".join(f"{v:g}" for v in table[row][table[row] != 0].tolist()[:4])
            raise UserError(
                f"{path}: row {row} is not one-hot (nonzero values {values}); a row must be one 1 and zeros: "
                "several keys or camera values in a row, as in Minecraft/VPT files, are not one discrete action"
            )
        raise UserError(f"{path}: row {row} is not one-hot (all zeros); give 'no action' a column of its own")
    return (table == 1).to(torch.uint8).argmax(dim=1).numpy().astype(np.int64)


def read_actions(path: Path, num_actions: int | None) -> np.ndarray:
    """One int64 action per frame from any of the three action files, each within 0..num_actions-1."""
    if path.name.endswith(".actions.npy"):
        actions = _read_npy(path, "iu", "actions").astype(np.int64)
    else:
        data = _load_pt(path)
        if isinstance(data, list) and data and all(isinstance(d, dict) for d in data):
            raise UserError(f"{path}: {_MINECRAFT.format(stem=_stem(path))}")
        if not isinstance(data, torch.Tensor):
            raise UserError(f"{path}: expected a tensor of actions, got a {type(data).__name__}")
        if path.name.endswith(".one_hot_actions.pt"):
            actions = _one_hot_to_actions(path, data, num_actions)
        elif data.ndim != 1:
            raise UserError(
                f"{path}: expected a 1-D tensor (one action per frame), got shape {tuple(data.shape)}; "
                f"a T x K one-hot tensor goes in {_stem(path)}.one_hot_actions.pt"
            )
        elif data.dtype.is_floating_point or data.is_complex() or data.dtype == torch.bool:
            raise UserError(f"{path}: actions must be integers, got {data.dtype}")
        else:
            actions = data.numpy().astype(np.int64)
    if len(actions) == 0:
        raise UserError(f"{path}: no actions in it")
    wrong = (actions < 0) | (actions >= (num_actions if num_actions is not None else np.inf))
    if wrong.any():
        step = int(wrong.argmax())
        allowed = f"0..{num_actions - 1}" if num_actions is not None else "0 or more"
        raise UserError(f"{path}: action {actions[step]} at frame {step} is outside {allowed}")
    return actions


def read_rewards(path: Path, num_frames: int) -> np.ndarray:
    rewards = _read_npy(path, "iuf", "rewards")
    if len(rewards) != num_frames:
        raise UserError(f"{path}: {len(rewards)} rewards for {num_frames} frames; give one per frame")
    if not np.isfinite(rewards).all():
        raise UserError(f"{path}: rewards must be finite numbers")
    return rewards.astype(np.float32)


def video_info(video: Path) -> tuple[int, tuple[int, int]]:
    """(frames, (height, width)) of a video from its packets and stream header, nothing decoded: cheap enough
    to check every video of a folder before the first is read."""
    try:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            frames = sum(1 for packet in container.demux(stream) if packet.size)
            size = (stream.codec_context.height, stream.codec_context.width)
    except (av.FFmpegError, IndexError) as e:
        raise UserError(f"{video}: not a readable video ({e})") from None
    if not frames:
        raise UserError(f"{video}: the video has no frames")
    return frames, size


def read_episode(video: Path, action_file: Path, actions: np.ndarray, rewards: Path | None, size: int) -> Episode:
    """The video's frames at size x size with the given actions; at most one frame more than actions is
    decoded, so an action file cannot make us hold a long video's frames for nothing."""
    frames = read_frames(video, max_frames=len(actions) + 1).permute(0, 2, 3, 1)  # T x H x W x 3
    if len(frames) != len(actions):
        count = f"{video_info(video)[0]}" if len(frames) > len(actions) else f"{len(frames)}"
        raise UserError(
            f"{video}: {count} frames but {len(actions)} actions in {action_file.name}; one action per frame is needed"
        )
    obs = np.stack(
        [cv2.resize(np.ascontiguousarray(f), (size, size), interpolation=cv2.INTER_AREA) for f in frames.numpy()]
    )
    del frames
    n = len(actions)
    rew = read_rewards(rewards, n) if rewards is not None else np.zeros(n, np.float32)
    trunc = np.zeros(n, np.uint8)
    trunc[-1] = 1
    return Episode(obs, actions, rew, np.zeros(n, np.uint8), trunc, obs[-1].copy())


def import_videos(
    source: Path,
    dest: Path,
    size: int,
    num_actions: int | None,
    progress: Callable[[Path, int], None] | None = None,
) -> tuple[int, int]:
    """Every video under ``source`` as one episode file in ``dest`` (added after any already there); the
    number of episodes and frames written. ``progress(video, frames)`` is called as each video is read."""
    source, dest = Path(source), Path(dest)
    if not 1 <= size <= MAX_SIZE:
        raise UserError(f"--size {size}: must be between 1 and {MAX_SIZE}")
    if num_actions is not None and num_actions < 1:
        raise UserError(f"--num_actions {num_actions}: must be at least 1")
    if dest.exists() and not dest.is_dir():
        raise UserError(f"{dest}: exists and is not a folder")
    pairs = find_pairs(source)
    actions = [read_actions(action_file, num_actions) for _, action_file, _ in pairs]  # cheap: all before decoding
    staging = EpisodeDataset(temp_dir_beside(dest))
    try:
        frames = 0
        for (video, action_file, rewards), act in zip(pairs, actions):
            episode = read_episode(video, action_file, act, rewards, size)
            staging.add(episode)
            frames += len(episode)
            if progress is not None:
                progress(video, len(episode))
        dest.mkdir(parents=True, exist_ok=True)
        target = EpisodeDataset(dest)
        for path in staging.paths:  # the names add() would give, moved instead of written again
            os.replace(path, dest / f"episode_{target.next_id:06d}.npz")
    finally:
        shutil.rmtree(staging.root, ignore_errors=True)
    return len(pairs), frames
