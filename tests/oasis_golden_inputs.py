"""Fixed tiny weights and inputs for the comparison with values computed by the published open-oasis DiT and
ViT-VAE (``tests/data/oasis_{dit,vae}_golden.npz``): seeded generators, so they are the same on every machine."""

import torch


def golden_weights(model, std: float = 0.05) -> dict[str, torch.Tensor]:
    """Every trained tensor N(0, std^2) in state-dict order (DiT's zero-initialised adaLN and output layers
    would hide most of the model); the rotary frequencies stay the constants both implementations derive."""
    g = torch.Generator().manual_seed(0)
    return {
        name: value if name.endswith("freqs") else torch.randn(value.shape, generator=g) * std
        for name, value in model.state_dict().items()
    }


def golden_inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Three frames (x: 1 3 16 18 32), three noise levels (stabilised context, mid, pure noise), actions."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 3, 16, 18, 32, generator=g)
    t = torch.tensor([[14, 500, 999]])
    return x, t, torch.randn(1, 3, 25, generator=g)


def golden_vae_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    """A 60x100 frame in [-1, 1] to encode (3x5 patches of 20) and 15 latent tokens to decode."""
    g = torch.Generator().manual_seed(2)
    x = torch.rand(1, 3, 60, 100, generator=g) * 2 - 1
    return x, torch.randn(1, 15, 16, generator=g)
