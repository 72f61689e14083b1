"""Deterministic DIAMOND weights and inputs, shared by the tests and by the golden values in tests/data."""

import torch

from worldmodels.diamond import Agent, AgentConfig

NUM_ACTIONS = 4


def seeded_state_dict(agent: Agent, seed: int = 0) -> dict[str, torch.Tensor]:
    """Weights drawn from one generator in sorted-name order: independent of how modules initialise."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, t in sorted(agent.state_dict().items()):
        noise = torch.randn(t.shape, generator=g)
        if name.endswith("noise_emb.weight"):
            out[name] = noise
        elif t.ndim == 1:
            out[name] = (1.0 if "norm" in name and name.endswith("weight") else 0.0) + 0.05 * noise
        else:
            fan_in = t[0].numel()
            out[name] = noise / fan_in**0.5
    return out


def seeded_agent(num_actions: int = NUM_ACTIONS) -> Agent:
    agent = Agent(AgentConfig().with_num_actions(num_actions))
    agent.load_state_dict(seeded_state_dict(agent))
    return agent.eval()


def fixed_inputs(batch: int = 2, num_actions: int = NUM_ACTIONS):
    """obs b x 4 x 3 x 64 x 64 in [-1, 1], act b x 4, a noisy next frame and per-sample sigmas."""
    g = torch.Generator().manual_seed(1)
    obs = torch.rand(batch, 4, 3, 64, 64, generator=g) * 2 - 1
    act = torch.randint(0, num_actions, (batch, 4), generator=g)
    noisy = torch.randn(batch, 3, 64, 64, generator=g)
    sigma = torch.tensor([0.05, 2.0])[:batch]
    return obs, act, noisy, sigma
