"""DIAMOND (Alonso et al., NeurIPS 2024): a diffusion world model of Atari and an agent trained inside it."""

from worldmodels.diamond.agent import ATARI_100K_GAMES, Agent, AgentConfig, load_agent
from worldmodels.diamond.denoiser import Denoiser, DenoiserConfig
from worldmodels.diffusion.karras import DiffusionSampler

__all__ = ["ATARI_100K_GAMES", "Agent", "AgentConfig", "DiffusionSampler", "Denoiser", "DenoiserConfig", "load_agent"]
