"""Tiny Oasis models (DiT and ViT-VAE) with every path active, for tests on CPU."""

import torch

from worldmodels.oasis import DiT, DiTConfig, VAEConfig, ViTVAE

TINY_DIT = DiTConfig(hidden_size=64, depth=2, num_heads=2, max_frames=4)
TINY_VAE = VAEConfig(dim=32, heads=2, enc_depth=1, dec_depth=1)


def tiny_models(seed: int = 0):
    torch.manual_seed(seed)
    dit, vae = DiT(TINY_DIT).eval(), ViTVAE(TINY_VAE).eval()
    with torch.no_grad():  # adaLN-Zero starts at zero: perturb so every path matters
        for name, p in dit.named_parameters():
            if "freqs" not in name:
                p.add_(torch.randn_like(p) * 0.05)
    return dit, vae
