"""Oasis latents, computed once: the ViT-VAE over episode folders or the Oasis release's videos, and clips of
the stored latents for training.

``encode_episodes`` reads ``<root>/<env>/{train,val,test}/episode_*.npz`` (genie-sample + genie-split, or
``EpisodeDataset.add``); ``encode_videos`` reads a folder of ``*.mp4`` clips, each with its Oasis/VPT action
file beside it (``<stem>.one_hot_actions.pt`` or ``<stem>.actions.pt``, one action per frame), and deals them
to the splits (``split_videos``). Both fit each frame to the VAE's input size (see ``fit_frames``), encode it
as ``OasisSampler.encode`` does (the posterior mean times ``LATENT_SCALE``) and write, per episode or video,

  <out>/<env>/<split>/episode_<n>.latents.npy   float16 t x c x h x w (c = 16, h x w = 18 x 32 for the 500M)
  <out>/<env>/<split>/episode_<n>.actions.npy   the action taken at frame k: an episode's int64 t, or a
                                                video's float32 t x 25 (Oasis' VPT action vectors)

each atomically (a temporary file, then a rename), the actions first: an episode whose two files exist is
done and is skipped by the next run, so an interrupted run continues where it stopped. ``<out>/<env>/
latents.json`` records the VAE's config and the fit (and which video became which episode), and a rerun
with others refuses to mix them.

``LatentDataModule`` serves either kind of actions; ``OasisTrainModule`` one-hots int actions and uses float
ones as they are, both shifted by one frame (frame k is conditioned on the action taken at frame k - 1, the
first frame of a clip on zeros), as Oasis conditions its frames.
"""

import functools
import json
import math
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import numpy as np
import torch
from rich.progress import track
from torch import Tensor
from torch.utils.data import Dataset
from torchvision.transforms.functional import center_crop, resize

from worldmodels.core.device import autocast
from worldmodels.core.errors import UserError
from worldmodels.core.files import atomic_path
from worldmodels.data.episodes import Episode, EpisodeDataset, _array_header
from worldmodels.data.split_data import SplitDataModule
from worldmodels.data.video_import import find_pairs, video_info
from worldmodels.oasis.actions import ACTION_FILE_SUFFIXES, read_action_rows
from worldmodels.oasis.vae import LATENT_SCALE, ViTVAE

SPLITS = ("train", "val", "test")
LATENTS, ACTIONS = ".latents.npy", ".actions.npy"
INFO_FILE = "latents.json"
FITS = ("resize", "crop", "stretch")
ASPECT_TOLERANCE = 0.01  # "resize" accepts frames whose aspect ratio is within 1 % of the VAE's


def frame_size(path: Path) -> tuple[int, int]:
    """(height, width) of an episode file's frames, from its ``obs`` header (no frame is decompressed)."""
    Episode.check(path)  # every field there and consistent, or a one-line error
    with zipfile.ZipFile(path) as archive, archive.open("obs.npy") as f:
        shape, _ = _array_header(f)
    return shape[1], shape[2]


def check_fit(size: tuple[int, int], target: tuple[int, int], fit: str, source: str) -> None:
    """A one-line error when frames of ``size`` cannot be fitted to ``target`` (the VAE's input) by ``fit``."""
    if fit not in FITS:
        raise UserError(f"--fit {fit!r}: one of {', '.join(FITS)}")
    (h, w), (th, tw) = size, target
    if fit == "resize" and abs((w / h) / (tw / th) - 1) > ASPECT_TOLERANCE:
        raise UserError(
            f"{source}: frames of {h}x{w} (aspect {w / h:.2f}) cannot be resized to the VAE's {th}x{tw} "
            f"(aspect {tw / th:.2f}) without distorting them; pass --fit crop (center crop, as oasis-play prompts) "
            "or --fit stretch"
        )


def fit_frames(frames: Tensor, target: tuple[int, int], fit: str) -> Tensor:
    """uint8 n x 3 x h x w -> uint8 n x 3 x H x W, the VAE's input size: ``resize`` (same aspect ratio, checked
    by ``check_fit``), ``crop`` (center crop to the VAE's aspect ratio first, as oasis-play's prompts) or
    ``stretch``; antialiased bilinear, as oasis-play resizes its prompts."""
    (height, width), (th, tw) = frames.shape[-2:], target
    if fit == "crop":
        crop = (min(height, round(width * th / tw)), min(width, round(height * tw / th)))
        frames = center_crop(frames, list(crop))
    if frames.shape[-2:] != (th, tw):
        frames = resize(frames, [th, tw], antialias=True)
    return frames


@torch.no_grad()
def encode_frames(vae: ViTVAE, frames: Tensor, half: bool = True) -> Tensor:
    """uint8 n x 3 x H x W (the VAE's input size) -> scaled latents n x c x h x w (float32), exactly as
    ``OasisSampler.encode`` computes them (fp16 autocast on CUDA with ``half``, as the sampler's default)."""
    device = next(vae.parameters()).device
    x = frames.to(device).float() / 127.5 - 1
    with autocast(device, enabled=half, dtype=torch.float16):
        mean = vae.encode(x).mean
    h, w = vae.grid
    return (mean.float() * LATENT_SCALE).reshape(len(frames), h, w, -1).permute(0, 3, 1, 2)


def latent_paths(folder: Path, name: str) -> tuple[Path, Path]:
    """Where episode ``name`` (``episode_<n>``) goes: its latents and its actions files in ``folder``."""
    return folder / f"{name}{LATENTS}", folder / f"{name}{ACTIONS}"


def save_array(array: np.ndarray, path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def check_info(folder: Path, info: dict) -> None:
    """Refuse to add latents of another VAE config or fit, or of other sources, to a folder; record them on its
    first run."""
    path = folder / INFO_FILE
    if path.is_file():
        try:
            known = json.loads(path.read_text())
        except ValueError as e:
            raise UserError(f"{path}: not readable ({e}); remove it to start over") from None
        for key in ("vae_config", "fit", "latent_scale"):
            if known.get(key) != info[key]:
                raise UserError(
                    f"{folder}: holds latents with another {key} ({known.get(key)} here, {info[key]} now); "
                    "pass another --out, or remove the folder to encode again"
                )
        if known.get("videos") != info.get("videos"):  # episode numbers would point at other videos
            raise UserError(
                f"{folder}: holds latents of other sources (episode files, other videos or another split of them, "
                f"as its {INFO_FILE} records); pass another --out, or remove the folder to encode again"
            )
        return
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(info, indent=1) + "\n")


def vae_info(vae: ViTVAE, source: str, fit: str) -> dict:
    """What ``latents.json`` records of how the latents were made."""
    return {"vae": source, "vae_config": asdict(vae.cfg), "latent_scale": LATENT_SCALE, "fit": fit}


def check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise UserError(f"--batch_size must be at least 1, got {batch_size}")


@dataclass(frozen=True)
class Job:
    """One episode to encode: its source (an episode file or a video, named in messages), the name its files
    get (``episode_<n>``), and ``read(batch_size)`` -> (its actions, its frames as uint8 n x 3 x h x w chunks),
    called only when its turn comes, so that memory holds one episode (of a video: one chunk of frames)."""

    source: Path
    name: str
    read: Callable[[int], tuple[np.ndarray, Iterator[Tensor]]]


def encode_job(vae: ViTVAE, job: Job, folder: Path, batch_size: int, fit: str, half: bool) -> None:
    """Encode one episode in batches and write its two files in ``folder``, the actions first: its latents
    file marks it done."""
    actions, chunks = job.read(batch_size)
    target = (vae.cfg.input_height, vae.cfg.input_width)
    latents = torch.cat([encode_frames(vae, fit_frames(chunk, target, fit), half).cpu().half() for chunk in chunks])
    if len(latents) != len(actions):  # a video that decodes to another count than its packets said
        raise UserError(f"{job.source}: {len(latents)} frames decoded for {len(actions)} actions")
    latents_path, actions_path = latent_paths(folder, job.name)
    save_array(actions, actions_path)
    save_array(latents.numpy(), latents_path)


def encode_jobs(
    vae: ViTVAE,
    jobs: dict[str, list[Job]],
    folder: Path,
    info: dict,
    batch_size: int,
    fit: str,
    half: bool,
    quiet: bool,
) -> dict[str, tuple[int, int]]:
    """Encode each split's jobs not yet in ``folder/<split>`` (after ``check_info``); returns, per split,
    (episodes encoded now, episodes already there)."""
    check_info(folder, info)
    summary = {}
    for split, split_jobs in jobs.items():
        todo = [job for job in split_jobs if not all(p.is_file() for p in latent_paths(folder / split, job.name))]
        for job in track(todo, description=f"encoding {split}", disable=quiet or not todo):
            encode_job(vae, job, folder / split, batch_size, fit, half)
        summary[split] = (len(todo), len(split_jobs) - len(todo))
    return summary


def read_episode_file(path: Path, batch_size: int) -> tuple[np.ndarray, Iterator[Tensor]]:
    """An episode file's int actions and its frames in chunks (the file is read whole: it is compressed)."""
    episode = Episode.load(path)
    frames = torch.from_numpy(episode.obs).permute(0, 3, 1, 2)
    return episode.act.astype(np.int64), (frames[i : i + batch_size] for i in range(0, len(frames), batch_size))


def encode_episodes(
    vae: ViTVAE,
    root: str | Path,
    env_name: str,
    out: str | Path,
    splits: tuple[str, ...] = SPLITS,
    batch_size: int = 32,
    fit: str = "resize",
    half: bool = True,
    source: str = "",
    quiet: bool = False,
) -> dict[str, tuple[int, int]]:
    """Encode every episode of ``<root>/<env_name>/<split>`` not yet in ``<out>/<env_name>/<split>``; returns,
    per split, (episodes encoded now, episodes already there). Every episode is checked (its fields, its frame
    size against ``fit``) before anything is written."""
    check_batch_size(batch_size)
    root, out = Path(root), Path(out)
    episodes = {split: EpisodeDataset(root / env_name / split).paths for split in splits}
    if not any(episodes.values()):
        raise UserError(
            f"{root / env_name}: no episode files (episode_*.npz) in {', '.join(splits)}; create them with "
            f"genie-sample --env_name {env_name} --root {root} then genie-split (or EpisodeDataset.add)"
        )
    target = (vae.cfg.input_height, vae.cfg.input_width)
    for path in (p for paths in episodes.values() for p in paths):
        check_fit(frame_size(path), target, fit, str(path))
    jobs = {
        split: [Job(path, path.stem, functools.partial(read_episode_file, path)) for path in paths]
        for split, paths in episodes.items()
        if paths
    }
    return encode_jobs(vae, jobs, out / env_name, vae_info(vae, source, fit), batch_size, fit, half, quiet)


def split_videos(videos: list[Path], val: float, test: float) -> dict[str, list[Path]]:
    """Deal sorted videos to the splits, the same way on every run: the last ceil(test x n) go to test, the
    ceil(val x n) before them to val, the rest (at least one; test, then val, gets fewer) to train. A tail of
    the sorted names, not every k-th video: the chunks of one recording sort together, so a held-out split
    mostly holds recordings that train never sees."""
    for option, share in (("--val", val), ("--test", test)):
        if not 0 <= share < 1:
            raise UserError(f"{option} {share}: a share of the videos, at least 0 and below 1")
    if val + test >= 1:
        raise UserError(f"--val {val} --test {test}: leave some videos for train (their sum must be below 1)")
    n = len(videos)
    n_val = min(math.ceil(round(val * n, 6)), n - 1)
    n_test = min(math.ceil(round(test * n, 6)), n - 1 - n_val)
    n_train = n - n_val - n_test
    return {"train": videos[:n_train], "val": videos[n_train : n_train + n_val], "test": videos[n_train + n_val :]}


def check_video(video: Path, action_file: Path, target: tuple[int, int], fit: str) -> None:
    """A one-line error unless the video is readable, its action file valid with one row per frame (the action
    taken at it, as VPT records them) and its frames can be fitted to the VAE's input."""
    frames, size = video_info(video)
    rows = len(read_action_rows(action_file))
    if rows != frames:
        raise UserError(
            f"{action_file}: {rows} actions for the {frames} frames of {video.name}; one action per frame is needed"
        )
    check_fit(size, target, fit, str(video))


def video_chunks(video: Path, batch_size: int) -> Iterator[Tensor]:
    """A video's frames as uint8 n x 3 x h x w chunks of ``batch_size``: a long video is never held whole."""
    try:
        with av.open(str(video)) as container:
            chunk = []
            for frame in container.decode(video=0):
                chunk.append(frame.to_ndarray(format="rgb24"))
                if len(chunk) == batch_size:
                    yield torch.from_numpy(np.stack(chunk)).permute(0, 3, 1, 2)
                    chunk = []
            if chunk:
                yield torch.from_numpy(np.stack(chunk)).permute(0, 3, 1, 2)
    except av.FFmpegError as e:
        raise UserError(f"{video}: not a readable video ({e})") from None


def read_video_pair(video: Path, action_file: Path, batch_size: int) -> tuple[np.ndarray, Iterator[Tensor]]:
    """A video's float32 N x 25 action rows and its frames in chunks."""
    return read_action_rows(action_file).numpy(), video_chunks(video, batch_size)


def encode_videos(
    vae: ViTVAE,
    videos: str | Path,
    env_name: str,
    out: str | Path,
    val: float = 0.1,
    test: float = 0.0,
    batch_size: int = 32,
    fit: str = "resize",
    half: bool = True,
    source: str = "",
    quiet: bool = False,
) -> dict[str, tuple[int, int]]:
    """Encode every ``*.mp4`` under ``videos`` (with its action file) not yet in ``<out>/<env_name>/<split>``,
    the splits dealt by ``split_videos``, the n-th video of a split (sorted) its ``episode_<n>``; returns, per
    split, (videos encoded now, videos already there). Every video is checked (``check_video``) before
    anything is written."""
    check_batch_size(batch_size)
    folder, out = Path(videos), Path(out)
    pairs = {video: action_file for video, action_file, _ in find_pairs(folder, ACTION_FILE_SUFFIXES)}
    splits = split_videos(list(pairs), val, test)
    target = (vae.cfg.input_height, vae.cfg.input_width)
    for video, action_file in pairs.items():
        check_video(video, action_file, target, fit)
    jobs = {
        split: [
            Job(video, f"episode_{n:06d}", functools.partial(read_video_pair, video, pairs[video]))
            for n, video in enumerate(split_list)
        ]
        for split, split_list in splits.items()
        if split_list
    }
    recorded = {
        split: [job.source.relative_to(folder).as_posix() for job in split_jobs] for split, split_jobs in jobs.items()
    }
    info = vae_info(vae, source, fit) | {"videos": recorded}
    return encode_jobs(vae, jobs, out / env_name, info, batch_size, fit, half, quiet)


@functools.lru_cache(maxsize=256)  # per worker process: memory maps, opened where they are read
def open_array(path: Path) -> np.ndarray:
    return np.load(path, mmap_mode="r")


class LatentClipDataset(Dataset):
    """Item i: (latents t c h w float32, actions: t long, or t x K float32); as ``ClipDataset``, each episode
    is cut into back-to-back tiles of ``clip_length`` frames, shifted by a random offset with
    ``random_offsets``."""

    def __init__(self, folder: str | Path, clip_length: int, random_offsets: bool):
        self.folder, self.clip_length, self.random_offsets = Path(folder), clip_length, random_offsets
        self.paths = sorted(p.resolve() for p in self.folder.glob(f"episode_*{LATENTS}"))
        self.lengths, kinds = [], set()
        for path in self.paths:
            self.lengths.append(len(self.check(path, kinds)))
        if len(kinds) > 1:
            raise UserError(f"{self.folder}: episodes hold different kinds of actions ({', '.join(sorted(kinds))})")
        self.tiles = [(e, k * clip_length) for e, n in enumerate(self.lengths) for k in range(n // clip_length)]
        if not self.tiles:
            raise UserError(f"{self.folder}: no episode has {clip_length} frames; lower --data.clip_length")

    @staticmethod
    def actions_path(path: Path) -> Path:
        return path.with_name(path.name.removesuffix(LATENTS) + ACTIONS)

    def check(self, path: Path, kinds: set) -> np.ndarray:
        """The latents of one episode (memory-mapped), checked against its actions file."""
        try:
            latents, actions = np.load(path, mmap_mode="r"), np.load(self.actions_path(path), mmap_mode="r")
        except (OSError, ValueError) as e:
            raise UserError(f"{path}: not readable with its actions file ({e}); run oasis-encode again") from None
        if latents.ndim != 4:
            raise UserError(f"{path}: latents must be t x c x h x w, got shape {latents.shape}")
        if np.issubdtype(actions.dtype, np.integer) and actions.ndim == 1:
            kinds.add("int t")
        elif np.issubdtype(actions.dtype, np.floating) and actions.ndim == 2:
            kinds.add(f"float t x {actions.shape[1]}")
        else:
            raise UserError(
                f"{self.actions_path(path)}: actions must be int (t) or float (t x K), got {actions.dtype} "
                f"{actions.shape}"
            )
        if len(actions) != len(latents):
            raise UserError(f"{self.actions_path(path)}: {len(actions)} actions for {len(latents)} frames")
        return latents

    def __len__(self) -> int:
        return len(self.tiles)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        episode, start = self.tiles[index]
        if self.random_offsets:
            last_start = self.lengths[episode] - self.clip_length
            start = min(start + int(torch.randint(self.clip_length, ())), last_start)
        window = slice(start, start + self.clip_length)
        path = self.paths[episode]
        latents = torch.from_numpy(np.array(open_array(path)[window], dtype=np.float32))
        actions = np.array(open_array(self.actions_path(path))[window])
        actions = actions.astype(np.int64 if np.issubdtype(actions.dtype, np.integer) else np.float32)
        return latents, torch.from_numpy(actions)


class LatentDataModule(SplitDataModule):
    """Clips of the latents ``oasis-encode`` wrote to ``<root>/<env_name>/{train,val,test}``: the same items as
    ``GenieDataModule`` (latents in place of frames), for ``oasis-train`` with ``data.class_path`` set to
    ``worldmodels.oasis.latents.LatentDataModule``. ``env_name`` is a folder name (any game, Minecraft too)."""

    def __init__(
        self,
        root: str = "data/latents",
        env_name: str = "coinrun",
        clip_length: int = 16,
        batch_size: int = 8,
        num_workers: int = 0,
    ):
        super().__init__(batch_size, num_workers)
        self.root, self.env_name, self.clip_length = Path(root), env_name, clip_length

    def split(self, name: str) -> LatentClipDataset:
        folder = self.root / self.env_name / name
        if not any(folder.glob(f"episode_*{LATENTS}")):
            state = f"has no latent files (episode_*{LATENTS})" if folder.is_dir() else "not found"
            raise UserError(
                f"{folder}: {state}; create it with oasis-encode --root EPISODES --env_name {self.env_name} "
                f"--out {self.root}"
            )
        return LatentClipDataset(folder, self.clip_length, random_offsets=name == "train")
