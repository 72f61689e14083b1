"""Training the Oasis DiT with diffusion forcing."""

import torch

from tests.oasis_fixtures import TINY_DIT
from worldmodels.diffusion.ddim import sigmoid_beta_schedule
from worldmodels.oasis.diffusion_forcing import DiffusionForcing
from worldmodels.oasis.dit import DiT


def test_the_loss_equals_a_hand_computation_for_fixed_noise_and_levels():
    torch.manual_seed(0)
    dit = DiT(TINY_DIT)
    x0, noise = torch.randn(2, 3, 16, 4, 4), torch.randn(2, 3, 16, 4, 4)
    actions, levels = torch.randn(2, 3, 25), torch.tensor([[0, 500, 999], [14, 14, 300]])
    loss = DiffusionForcing().loss(dit, x0, actions, levels, noise)

    alphas = torch.cumprod(1 - sigmoid_beta_schedule(1000).float(), 0)  # the sampler's schedule
    noisy, targets, weights = torch.empty_like(x0), torch.empty_like(x0), torch.empty(2, 3)
    for i in range(2):
        for j in range(3):
            a = alphas[levels[i, j]]
            noisy[i, j] = a.sqrt() * x0[i, j] + (1 - a).sqrt() * noise[i, j]
            targets[i, j] = a.sqrt() * noise[i, j] - (1 - a).sqrt() * x0[i, j]
            snr = a / (1 - a)
            weights[i, j] = min(snr, 5.0) / (snr + 1)
    v = dit(noisy, levels, actions)
    expected = (((v - targets) ** 2).mean(dim=(2, 3, 4)) * weights).mean()
    assert torch.allclose(loss, expected, rtol=1e-5)
    assert weights[0, 0] < 0.01 and abs(weights[0, 1] - 0.5) < 0.5  # a clean frame weighs almost nothing


def test_every_frame_draws_its_own_noise_level():
    levels = DiffusionForcing().levels(64, 8, "cpu", torch.Generator().manual_seed(0))
    assert levels.min() >= 0 and levels.max() < 1000
    assert (levels != levels[:, :1]).any(dim=1).float().mean() > 0.99, "frames of a clip share a level"


def test_training_overfits_a_batch():
    torch.manual_seed(0)
    dit, objective = DiT(TINY_DIT), DiffusionForcing()
    x0, actions = torch.randn(2, 4, 16, 4, 4), torch.randn(2, 4, 25)
    levels, noise = objective.levels(2, 4, "cpu"), torch.randn_like(x0)
    optimizer = torch.optim.AdamW(dit.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss = objective.loss(dit, x0, actions, levels, noise)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0], losses[::10]
