"""Oasis latents, computed once: the ViT-VAE over episode folders, and clips of the stored latents for training.

``encode_episodes`` reads ``<root>/<env>/{train,val,test}/episode_*.npz`` (genie-sample + genie-split, or
``EpisodeDataset.add``), fits each frame to the VAE's input size (see ``fit_frames``), encodes it as
``OasisSampler.encode`` does (the posterior mean times ``LATENT_SCALE``) and writes, per episode,

  <out>/<env>/<split>/episode_<n>.latents.npy   float16 t x c x h x w (c = 16, h x w = 18 x 32 for the 500M)
  <out>/<env>/<split>/episode_<n>.actions.npy   the episode's actions: int64 t (the action taken at frame k)

each atomically (a temporary file, then a rename), the actions first: an episode whose two files exist is
done and is skipped by the next run, so an interrupted run continues where it stopped. ``<out>/<env>/
latents.json`` records the VAE's config and the fit, and a rerun with another refuses to mix them.

An actions file may also hold float32 t x K vectors (Oasis 500M: K = 25, the VPT action of each frame, i.e.
the rows of a ``.one_hot_actions.pt`` without the zero action ``load_actions`` puts first): write it over
the int one after encoding. ``LatentDataModule`` serves either kind; ``OasisTrainModule`` one-hots int
actions and uses float ones as they are, both shifted by one frame (frame k is conditioned on the action
taken at frame k - 1, the first frame of a clip on zeros), as Oasis conditions its frames.
"""

import functools
import json
import zipfile
from dataclasses import asdict
from pathlib import Path

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


def latent_paths(folder: Path, episode: Path) -> tuple[Path, Path]:
    """Where ``episode`` (``episode_<n>.npz``) goes: its latents and its actions files in ``folder``."""
    return folder / f"{episode.stem}{LATENTS}", folder / f"{episode.stem}{ACTIONS}"


def save_array(array: np.ndarray, path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def check_info(folder: Path, info: dict) -> None:
    """Refuse to add latents of another VAE config or fit to a folder; record them on its first run."""
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
        return
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(info, indent=1) + "\n")


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
    if batch_size < 1:
        raise UserError(f"--batch_size must be at least 1, got {batch_size}")
    root, out = Path(root), Path(out)
    episodes = {split: EpisodeDataset(root / env_name / split).paths for split in splits}
    if not any(episodes.values()):
        raise UserError(
            f"{root / env_name}: no episode files (episode_*.npz) in {', '.join(splits)}; create them with "
            f"genie-sample --env_name {env_name} --root {root} then genie-split (or EpisodeDataset.add)"
        )
    episodes = {split: paths for split, paths in episodes.items() if paths}
    target = (vae.cfg.input_height, vae.cfg.input_width)
    for path in (p for paths in episodes.values() for p in paths):
        check_fit(frame_size(path), target, fit, str(path))
    info = {"vae": source, "vae_config": asdict(vae.cfg), "latent_scale": LATENT_SCALE, "fit": fit}
    check_info(out / env_name, info)
    summary = {}
    for split, paths in episodes.items():
        folder = out / env_name / split
        todo = [p for p in paths if not all(f.is_file() for f in latent_paths(folder, p))]
        for path in track(todo, description=f"encoding {split}", disable=quiet or not todo):
            episode = Episode.load(path)
            frames = torch.from_numpy(episode.obs).permute(0, 3, 1, 2)
            latents = [
                encode_frames(vae, fit_frames(frames[i : i + batch_size], target, fit), half).cpu()
                for i in range(0, len(frames), batch_size)
            ]
            latents_path, actions_path = latent_paths(folder, path)
            save_array(episode.act.astype(np.int64), actions_path)  # first: the latents file marks it done
            save_array(torch.cat(latents).half().numpy(), latents_path)
        summary[split] = (len(todo), len(paths) - len(todo))
    return summary


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
