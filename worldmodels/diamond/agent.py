"""DIAMOND's agent (denoiser + reward/end model + actor-critic) and the published checkpoint layout.

A checkpoint is one flat state dict with the prefixes ``denoiser.``, ``rew_end_model.`` and
``actor_critic.``, as ``torch.save(agent.state_dict())`` writes it; the number of actions is read from
the tensor shapes. Published Atari 100k models live in the hub repo ``eloialonso/diamond``.
"""

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import yaml
from torch import nn

from worldmodels.core.checkpoints import build_strict, load_tensors, save_tensors
from worldmodels.core.config import checked, known_fields
from worldmodels.core.errors import UserError
from worldmodels.core.files import atomic_path
from worldmodels.core.hub import HubFile, download, resolve
from worldmodels.diamond.actor_critic import ActorCritic, ActorCriticConfig
from worldmodels.diamond.denoiser import Denoiser, DenoiserConfig
from worldmodels.diamond.rew_end_model import RewEndModel, RewEndModelConfig

if TYPE_CHECKING:
    from worldmodels.diamond.csgo import CSGOAgent

HUB_REPO = "eloialonso/diamond"
ATARI_100K_GAMES = [
    "Alien", "Amidar", "Assault", "Asterix", "BankHeist", "BattleZone", "Boxing", "Breakout", "ChopperCommand",
    "CrazyClimber", "DemonAttack", "Freeway", "Frostbite", "Gopher", "Hero", "Jamesbond", "Kangaroo", "Krull",
    "KungFuMaster", "MsPacman", "Pong", "PrivateEye", "Qbert", "RoadRunner", "Seaquest", "UpNDown",
]  # fmt: skip
MODULES = ("denoiser", "rew_end_model", "actor_critic")
ACTION_TENSOR = "denoiser.inner_model.act_emb.0.weight"  # [num_actions, cond_channels / 4]


@dataclass
class AgentConfig:
    denoiser: DenoiserConfig = field(default_factory=DenoiserConfig)
    rew_end_model: RewEndModelConfig = field(default_factory=RewEndModelConfig)
    actor_critic: ActorCriticConfig = field(default_factory=ActorCriticConfig)

    def with_num_actions(self, num_actions: int) -> "AgentConfig":
        return AgentConfig(
            dataclasses.replace(
                self.denoiser, inner_model=dataclasses.replace(self.denoiser.inner_model, num_actions=num_actions)
            ),
            dataclasses.replace(self.rew_end_model, num_actions=num_actions),
            dataclasses.replace(self.actor_critic, num_actions=num_actions),
        )

    @property
    def num_actions(self) -> int:
        return self.denoiser.inner_model.num_actions

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "AgentConfig":
        """From our own YAML, or the published Hydra ``config/agent/default.yaml`` (``_target_`` and
        ``${...}`` interpolations are ignored; image channels come from the denoiser, the size is Atari's 64)."""

        denoiser = DenoiserConfig().updated(d.get("denoiser"))
        img = {"img_channels": denoiser.inner_model.img_channels, "img_size": 64}
        return cls(
            denoiser,
            RewEndModelConfig(**(img | known_fields(RewEndModelConfig, d.get("rew_end_model")))),
            ActorCriticConfig(**(img | known_fields(ActorCriticConfig, d.get("actor_critic")))),
        )

    def save_yaml(self, path: str | os.PathLike) -> Path:
        with atomic_path(path) as tmp:
            Path(tmp).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
        return Path(path)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> "AgentConfig":
        try:
            data = yaml.safe_load(Path(path).read_text())
        except (OSError, ValueError, yaml.YAMLError) as e:  # ValueError: not UTF-8 text
            reason = " ".join(str(e).split())  # YAML errors span several lines
            raise UserError(f"{path}: not a readable agent config ({reason})") from None
        if not isinstance(data, dict) or not data.keys() & set(MODULES):
            raise UserError(f"{path}: an agent config is a mapping with denoiser/rew_end_model/actor_critic")
        try:
            return checked(cls.from_dict(data), str(path))
        except (TypeError, AttributeError) as e:  # a section that is not a mapping, a field of the wrong kind
            raise UserError(f"{path}: bad agent config ({e})") from None


class Agent(nn.Module):
    def __init__(self, cfg: AgentConfig):
        super().__init__()
        self.cfg = cfg
        self.denoiser = Denoiser(cfg.denoiser)
        self.rew_end_model = RewEndModel(cfg.rew_end_model)
        self.actor_critic = ActorCritic(cfg.actor_critic)

    @property
    def device(self) -> torch.device:
        return self.denoiser.device

    def save(self, path: str | os.PathLike) -> Path:
        """Write the published layout (one flat state dict), atomically."""
        return save_tensors(self.state_dict(), path)


def hub_checkpoint(game: str) -> HubFile:
    return HubFile(HUB_REPO, f"atari_100k/models/{game}.pt")


def canonical_game(name: str) -> str | None:
    """``breakout`` / ``BreakoutNoFrameskip-v4`` -> ``Breakout``; None when it is no Atari 100k game."""
    key = name.removesuffix("NoFrameskip-v4").removeprefix("ALE/").removesuffix("-v5").lower()
    return next((g for g in ATARI_100K_GAMES if g.lower() == key), None)


def load_agent(
    path_or_game: str | os.PathLike,
    config: AgentConfig | str | os.PathLike | None = None,
    device: torch.device | str = "cpu",
    offline: bool = False,
) -> "Agent | CSGOAgent":
    """An Agent from a checkpoint file, an ``hf://`` reference, or an Atari 100k game name.

    A game name downloads ``atari_100k/models/<Game>.pt`` and the published agent config from the hub.
    ``config`` (an AgentConfig or a YAML path) defaults to the YAML beside a local checkpoint
    (``<name>.yaml``, ``config.yaml``), else the published architecture.
    ``"csgo"``, a ``csgo/`` folder or its ``csgo.pt`` give the CS:GO world model instead (a ``CSGOAgent``:
    ``denoiser`` and ``upsampler``).
    """
    from worldmodels.diamond.csgo import csgo_folder, load_csgo_agent

    csgo_config = None if isinstance(config, AgentConfig) else config  # an AgentConfig describes Atari agents
    if str(path_or_game).lower() == "csgo" and not Path(path_or_game).exists():
        return load_csgo_agent(csgo_folder(offline=offline), csgo_config, device)
    if (Path(path_or_game) / "model" / "csgo.pt").is_file():
        return load_csgo_agent(path_or_game, csgo_config, device)
    game = canonical_game(str(path_or_game)) if not Path(path_or_game).exists() else None
    path = download(hub_checkpoint(game), offline=offline) if game else resolve(path_or_game, offline=offline)
    tensors = load_tensors(path)
    if any(k.startswith("upsampler.") for k in tensors):
        return load_csgo_agent(path, csgo_config, device, tensors=tensors)
    if config is None and game is not None:
        config = download(HubFile(HUB_REPO, "atari_100k/config/agent/default.yaml"), offline=offline)
    elif config is None:
        config = next((p for p in (path.with_suffix(".yaml"), path.parent / "config.yaml") if p.is_file()), None)
    assumed = config is None  # no config given or found: the published architecture
    if assumed:
        config = AgentConfig()
    elif not isinstance(config, AgentConfig):
        config = AgentConfig.from_yaml(config)

    if ACTION_TENSOR not in tensors:
        present = sorted({k.split(".")[0] for k in tensors})
        raise UserError(f"{path}: not a DIAMOND agent checkpoint (no {ACTION_TENSOR}; top-level keys: {present})")
    config = config.with_num_actions(tensors[ACTION_TENSOR].shape[0])
    try:
        agent = build_strict(lambda: Agent(config), tensors, str(path))
    except UserError as e:
        if not assumed:
            raise
        raise UserError(
            f"{path}: not the published architecture, and no {path.stem}.yaml or config.yaml beside it says "
            f"which; pass its config with --config ({e})"
        ) from None
    return agent.to(device).eval()
