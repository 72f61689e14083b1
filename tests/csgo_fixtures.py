"""A tiny CS:GO agent with deterministic weights and a csgo/ folder in the published layout."""

import json
from pathlib import Path

import numpy as np
import torch
import yaml

from worldmodels.diamond.csgo import CSGOAgent, CSGOConfig
from worldmodels.diamond.denoiser import DenoiserConfig
from worldmodels.diamond.inner_model import InnerModelConfig

TINY = CSGOConfig(
    DenoiserConfig(
        InnerModelConfig(cond_channels=64, channels=[8, 8, 16, 16], attn_depths=[0, 0, 1, 1], num_actions=51,
                         noise_cond_emb=True),
        sigma_offset_noise=0.1, noise_previous_obs=True,
    ),
    DenoiserConfig(
        InnerModelConfig(num_steps_conditioning=1, cond_channels=64, channels=[8, 8, 8, 16], attn_depths=[0, 0, 0, 1],
                         noise_cond_emb=True, is_upsampler=True),
        sigma_offset_noise=0.1, upsampling_factor=5,
    ),
)  # fmt: skip


def tiny_agent() -> CSGOAgent:
    agent = CSGOAgent(TINY)
    g = torch.Generator().manual_seed(0)
    state = {}
    for name, t in sorted(agent.state_dict().items()):
        noise = torch.randn(t.shape, generator=g)
        if "noise_emb" in name or "noise_cond_emb" in name:
            state[name] = noise
        elif t.ndim == 1:
            state[name] = (1.0 if "norm" in name and name.endswith("weight") else 0.0) + 0.05 * noise
        else:
            state[name] = noise / t[0].numel() ** 0.5
    agent.load_state_dict(state)
    return agent.eval()


def fixed_inputs():
    g = torch.Generator().manual_seed(1)
    obs = torch.rand(1, 4, 3, 30, 56, generator=g) * 2 - 1
    act = (torch.rand(1, 4, 51, generator=g) < 0.2).long()
    full = torch.rand(1, 1, 3, 150, 280, generator=g) * 2 - 1
    return obs, act, full


def write_csgo_folder(root: Path, agent: CSGOAgent, num_spawns: int = 2, spawn_length: int = 6) -> Path:
    """model/csgo.pt, config/agent/csgo.yaml (Hydra style, as published) and spawn/<k>/ files."""
    folder = root / "csgo"
    (folder / "model").mkdir(parents=True)
    torch.save(agent.state_dict(), folder / "model" / "csgo.pt")
    (folder / "config" / "agent").mkdir(parents=True)
    config = {"_target_": "agent.AgentConfig", **agent.cfg.to_dict(), "rew_end_model": None, "actor_critic": None}
    for name in ("denoiser", "upsampler"):  # only the keys the published csgo.yaml has
        config[name]["_target_"] = "models.diffusion.DenoiserConfig"
        inner = config[name]["inner_model"]
        inner["_target_"] = "models.diffusion.InnerModelConfig"
        for key in ("is_upsampler", "noise_cond_emb", "num_actions"):
            del inner[key]
    (folder / "config" / "agent" / "csgo.yaml").write_text(yaml.safe_dump(config))
    rng = np.random.default_rng(0)
    for k in range(num_spawns):
        d = folder / "spawn" / str(k)
        d.mkdir(parents=True)
        np.save(d / "low_res.npy", rng.integers(0, 256, (spawn_length, 3, 30, 56), dtype=np.uint8))
        np.save(d / "full_res.npy", rng.integers(0, 256, (spawn_length, 3, 150, 280), dtype=np.uint8))
        act = np.zeros((spawn_length + 4, 51), np.int64)
        act[:, 11 + 2 + 11] = act[:, 11 + 2 + 23 + 7] = 1  # mouse still
        act[np.arange(len(act)), np.arange(len(act)) % 11] = 1  # one key a step: every recorded action differs
        np.save(d / "act.npy", act[:spawn_length])
        np.save(d / "next_act.npy", act[spawn_length:])
        (d / "info.json").write_text(json.dumps({"source": "synthetic", "start": k}))
    return folder
