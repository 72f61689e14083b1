"""DIAMOND's Counter-Strike: GO world model (branch ``csgo``): a next-frame denoiser at 30x56 and an
upsampler to 150x280, started from recorded "spawn" points, driven by 51-dim keyboard + mouse actions.

Published files (hub repo ``eloialonso/diamond``, folder ``csgo/``, or a local folder with that layout):
``model/csgo.pt`` (flat state dict, prefixes ``denoiser.`` and ``upsampler.``), ``config/agent/csgo.yaml``
and ``spawn/<k>/{low_res,full_res,act,next_act}.npy`` + ``info.json``.
"""

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from torch import Tensor, nn

from worldmodels.core.checkpoints import build_strict, load_tensors
from worldmodels.core.config import checked
from worldmodels.core.device import autocast
from worldmodels.core.errors import UserError
from worldmodels.diamond.agent import HUB_REPO
from worldmodels.diamond.csgo_actions import NUM_ACTIONS
from worldmodels.diamond.denoiser import Denoiser, DenoiserConfig
from worldmodels.diamond.inner_model import InnerModelConfig
from worldmodels.diffusion.karras import DiffusionSampler

LOW_RES, FULL_RES = (30, 56), (150, 280)
SPAWN_FILES = ("low_res.npy", "full_res.npy", "act.npy", "next_act.npy")

# csgo:config/world_model_env/{fast,higher_quality}.yaml
PRESETS = {
    "fast": {
        "next_obs": dict(num_steps_denoising=1, sigma_min=2e-3, sigma_max=5.0, rho=7, order=1, s_cond=0.005),
        "upsampling": dict(
            num_steps_denoising=1, sigma_min=1, sigma_max=5.0, rho=7, order=2, s_churn=10.0, s_tmin=1, s_tmax=5,
            s_noise=0.9,
        ),
    },
    "higher_quality": {
        "next_obs": dict(num_steps_denoising=3, sigma_min=2e-3, sigma_max=5.0, rho=7, order=1, s_cond=0.005),
        "upsampling": dict(
            num_steps_denoising=10, sigma_min=1, sigma_max=5.0, rho=7, order=1, s_churn=10.0, s_tmin=1, s_tmax=5,
            s_noise=0.9,
        ),
    },
}  # fmt: skip


def _denoiser_default() -> DenoiserConfig:
    inner = InnerModelConfig(
        cond_channels=2048, channels=[128, 256, 512, 1024], attn_depths=[0, 0, 1, 1], num_actions=NUM_ACTIONS,
        noise_cond_emb=True,
    )  # fmt: skip
    return DenoiserConfig(inner, sigma_offset_noise=0.1, noise_previous_obs=True)


def _upsampler_default() -> DenoiserConfig:
    inner = InnerModelConfig(
        num_steps_conditioning=1, cond_channels=2048, channels=[64, 64, 128, 256], attn_depths=[0, 0, 0, 1],
        noise_cond_emb=True, is_upsampler=True,
    )  # fmt: skip
    return DenoiserConfig(inner, sigma_offset_noise=0.1, upsampling_factor=5)


@dataclass
class CSGOConfig:
    denoiser: DenoiserConfig = field(default_factory=_denoiser_default)
    upsampler: DenoiserConfig = field(default_factory=_upsampler_default)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> "CSGOConfig":
        """Our YAML or the published Hydra ``csgo.yaml`` (``_target_`` keys are ignored)."""
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
            default = cls()
            cfg = cls(*(getattr(default, k).updated(data.get(k)) for k in ("denoiser", "upsampler")))
        except (OSError, ValueError, yaml.YAMLError, TypeError, AttributeError) as e:
            reason = " ".join(str(e).split())  # YAML errors span several lines
            raise UserError(f"{path}: not a readable CS:GO agent config ({reason})") from None
        return checked(cfg, str(path))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class CSGOAgent(nn.Module):
    def __init__(self, cfg: CSGOConfig):
        super().__init__()
        self.cfg = cfg
        self.denoiser = Denoiser(cfg.denoiser)
        self.upsampler = Denoiser(cfg.upsampler)

    @property
    def device(self) -> torch.device:
        return self.denoiser.device


def csgo_folder(folder: str | os.PathLike | None = None, offline: bool = False) -> Path:
    """A local ``csgo/`` folder: the one given, or the hub's, downloaded once into the hub cache."""
    if folder is not None:
        path = Path(folder)
        if not (path / "model" / "csgo.pt").is_file():
            raise UserError(f"{path}: not a CS:GO folder (expected model/csgo.pt and spawn/<k>/ inside)")
        return path
    import huggingface_hub
    from huggingface_hub import errors as hf_errors

    from worldmodels.core.hub import endpoint_reachable, hf_command

    try:
        local = huggingface_hub.snapshot_download(
            HUB_REPO, allow_patterns=["csgo/*"], local_files_only=offline or not endpoint_reachable()
        )
    except (hf_errors.LocalEntryNotFoundError, hf_errors.HfHubHTTPError, OSError) as e:
        raise UserError(
            f"the CS:GO files of hub repo {HUB_REPO} are not available ({type(e).__name__}); on a connected "
            f"machine run `{hf_command()} download {HUB_REPO} --include 'csgo/*' --local-dir DIR` and pass "
            "--csgo-dir DIR/csgo"
        ) from None
    return csgo_folder(Path(local) / "csgo")


def load_csgo_agent(
    folder_or_file: str | os.PathLike,
    config: str | os.PathLike | None = None,
    device="cpu",
    tensors: dict[str, Tensor] | None = None,
) -> CSGOAgent:
    """The two CS:GO models, loaded strictly from a ``csgo/`` folder or its ``model/csgo.pt`` (``tensors``:
    that file's contents, when the caller already read them); the config is ``config`` (a YAML), else the
    folder's ``config/agent/csgo.yaml``, else the published architecture."""
    path = Path(folder_or_file)
    folder = path.parent.parent if path.is_file() else path
    path = path if path.is_file() else folder / "model" / "csgo.pt"
    config_path = Path(config) if config is not None else folder / "config" / "agent" / "csgo.yaml"
    if config is not None and not config_path.is_file():
        raise UserError(f"{config_path}: config file not found")
    cfg = CSGOConfig.from_yaml(config_path) if config_path.is_file() else CSGOConfig()
    tensors = tensors if tensors is not None else load_tensors(path)
    if not any(k.startswith("upsampler.") for k in tensors):
        raise UserError(f"{path}: not a DIAMOND CS:GO checkpoint (no upsampler.* tensors)")
    return build_strict(lambda: CSGOAgent(cfg), tensors, f"{path} (config {config_path})").to(device).eval()


@dataclass
class Spawn:
    """A recorded start: past frames at both resolutions, their actions, and the actions that followed."""

    low_res: Tensor  # t 3 30 56 in [-1, 1]
    full_res: Tensor  # t 3 150 280
    act: Tensor  # t 51 multi-hot
    next_act: Tensor  # n 51, replayed when nobody plays
    info: dict


def load_spawns(folder: Path, context_frames: int = 4) -> list[Spawn]:
    """Every ``spawn/<k>/`` of a CS:GO folder, in numeric order, checked against the published layout."""
    root = folder / "spawn"
    dirs = (
        sorted((d for d in root.iterdir() if d.is_dir()), key=lambda d: (len(d.name), d.name)) if root.is_dir() else []
    )
    if not dirs:
        raise UserError(f"{root}: no spawn folders (spawn/<k>/ with {', '.join(SPAWN_FILES)})")
    spawns = []
    for d in dirs:
        missing = [f for f in SPAWN_FILES if not (d / f).is_file()]
        if missing:
            raise UserError(f"{d}: spawn folder is missing {', '.join(missing)}")
        arrays = {f: _load_npy(d / f) for f in SPAWN_FILES}
        _check_spawn(d, arrays, context_frames)
        try:
            info = json.loads((d / "info.json").read_text()) if (d / "info.json").is_file() else {}
        except (OSError, ValueError) as e:
            raise UserError(f"{d / 'info.json'}: not readable JSON ({e})") from None
        frames = {f: torch.from_numpy(a) for f, a in arrays.items()}
        to_model = lambda x: x.float().div(255).mul(2).sub(1)  # noqa: E731
        spawns.append(
            Spawn(to_model(frames["low_res.npy"]), to_model(frames["full_res.npy"]), frames["act.npy"].long(),
                  frames["next_act.npy"].long(), info)
        )  # fmt: skip
    return spawns


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path)
    except (OSError, ValueError, EOFError) as e:
        raise UserError(f"{path}: not a readable .npy array ({e})") from None


def _check_spawn(d: Path, arrays: dict[str, np.ndarray], context_frames: int) -> None:
    """Frames: uint8 t x 3 x H x W at the two published sizes; actions: t x 51 (context) and n x 51 (next)."""
    low, full, act, next_act = (arrays[f] for f in SPAWN_FILES)
    for name, a, (h, w), min_frames in (("low_res", low, LOW_RES, context_frames), ("full_res", full, FULL_RES, 1)):
        if a.dtype != np.uint8 or a.ndim != 4 or a.shape[1:] != (3, h, w) or len(a) < min_frames:
            raise UserError(
                f"{d / name}.npy: expected uint8 frames of shape (t >= {min_frames}, 3, {h}, {w}), "
                f"got {a.dtype} {a.shape}"
            )
    for name, a, rows in (("act", act, len(low)), ("next_act", next_act, None)):
        if a.ndim != 2 or a.shape[1] != NUM_ACTIONS or (rows is not None and len(a) != rows):
            expected = f"({rows if rows is not None else 'n'}, {NUM_ACTIONS})"
            raise UserError(f"{d / name}.npy: expected actions of shape {expected}, got {a.shape}")


class CSGOWorldModel:
    """One imagined game: the next low-res frame from the denoiser, then the upsampler's full-res frame."""

    def __init__(self, agent: CSGOAgent, preset: str = "fast", half: bool = False):
        if preset not in PRESETS:
            raise UserError(f"--preset {preset}: one of {', '.join(PRESETS)}")
        self.agent, self.half = agent, half
        self.sampler_next_obs = DiffusionSampler(agent.denoiser, **PRESETS[preset]["next_obs"])
        self.sampler_upsampling = DiffusionSampler(agent.upsampler, **PRESETS[preset]["upsampling"])
        # --half keeps autocast's half copies of the weights only where a frame uses them more than once:
        # with the fast preset (one call per model) they would just hold another 0.76 GB.
        self.cast_cache = max(PRESETS[preset][k]["num_steps_denoising"] for k in ("next_obs", "upsampling")) > 1

    @property
    def device(self) -> torch.device:
        return self.agent.device

    def reset(self, spawn: Spawn) -> Tensor:
        """Start from a spawn; returns its last full-resolution frame (3 150 280)."""
        d = self.device
        self.obs, self.full_res = spawn.low_res[None].to(d), spawn.full_res[None].to(d)
        self.act = spawn.act[None].to(d)
        return self.full_res[0, -1]

    @torch.no_grad()
    def step(self, action: Tensor) -> tuple[Tensor, Tensor]:
        """Apply a 51-dim multi-hot action; returns the new full-res (3 150 280) and low-res frames."""
        n = self.agent.cfg.denoiser.inner_model.num_steps_conditioning
        n_up = self.agent.cfg.upsampler.inner_model.num_steps_conditioning
        factor = self.agent.cfg.upsampler.upsampling_factor
        self.act[:, -1] = action.to(self.device)
        with autocast(self.device, enabled=self.half, cache=self.cast_cache):
            next_obs, _ = self.sampler_next_obs.sample(self.obs[:, -n:], self.act[:, -n:])
            low_res = F.interpolate(next_obs.float(), scale_factor=factor, mode="bicubic")
            cond = torch.cat((self.full_res[:, -n_up:], low_res[:, None]), 1)
            full, _ = self.sampler_upsampling.sample(cond, None)
        next_obs, full = next_obs.float(), full.float()
        self.obs = torch.cat((self.obs[:, 1:], next_obs[:, None]), 1)
        self.full_res = torch.cat((self.full_res[:, 1:], full[:, None]), 1)
        self.act = torch.cat((self.act[:, 1:], torch.zeros_like(self.act[:, :1])), 1)
        return full[0], next_obs[0]
