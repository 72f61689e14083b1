"""Oasis 500M (Decart + Etched): a diffusion transformer world model of Minecraft, with its ViT-VAE."""

from worldmodels.oasis.dit import DiT, DiTConfig
from worldmodels.oasis.load import load_dit, load_vae, save_model
from worldmodels.oasis.sampler import OasisSampler, compile_dit
from worldmodels.oasis.vae import VAEConfig, ViTVAE

__all__ = [
    "DiT",
    "DiTConfig",
    "OasisSampler",
    "compile_dit",
    "VAEConfig",
    "ViTVAE",
    "load_dit",
    "load_vae",
    "save_model",
]
