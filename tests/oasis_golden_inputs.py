"""Fixed tiny DiT weights and inputs for the comparison with values computed by the published open-oasis DiT
(``tests/data/oasis_dit_golden.npz``): a seeded generator, so they are the same on every machine."""

import torch


def golden_weights(dit) -> dict[str, torch.Tensor]:
    """Every trained tensor N(0, 0.05^2) in state-dict order (DiT's zero-initialised adaLN and output layers
    would hide most of the model); the rotary frequencies stay the constants both implementations derive."""
    g = torch.Generator().manual_seed(0)
    return {
        name: value if name.endswith("freqs") else torch.randn(value.shape, generator=g) * 0.05
        for name, value in dit.state_dict().items()
    }


def golden_inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Three frames (x: 1 3 16 18 32), three noise levels (stabilised context, mid, pure noise), actions."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 3, 16, 18, 32, generator=g)
    t = torch.tensor([[14, 500, 999]])
    return x, t, torch.randn(1, 3, 25, generator=g)
