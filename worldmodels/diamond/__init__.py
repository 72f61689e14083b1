"""DIAMOND (Alonso et al., NeurIPS 2024): a diffusion world model of Atari and an agent trained inside it,
and the two-stage world model of CS:GO (branch ``csgo``)."""

from worldmodels.diamond.agent import ATARI_100K_GAMES, Agent, AgentConfig, load_agent
from worldmodels.diamond.csgo import CSGOAgent, CSGOConfig, CSGOWorldModel, load_csgo_agent, load_spawns
from worldmodels.diamond.denoiser import Denoiser, DenoiserConfig
from worldmodels.diffusion.karras import DiffusionSampler

__all__ = [
    "ATARI_100K_GAMES",
    "Agent",
    "AgentConfig",
    "CSGOAgent",
    "CSGOConfig",
    "CSGOWorldModel",
    "DiffusionSampler",
    "Denoiser",
    "DenoiserConfig",
    "load_agent",
    "load_csgo_agent",
    "load_spawns",
]
