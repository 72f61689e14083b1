"""Architectures read from files (safetensors headers, YAML) are checked before anything is built."""

import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
import yaml
from oasis_fixtures import tiny_models

from worldmodels.core.checkpoints import build_strict, load_tensors, read_metadata, save_tensors
from worldmodels.core.config import config_problems
from worldmodels.core.errors import UserError
from worldmodels.diamond import Agent, AgentConfig, load_agent
from worldmodels.oasis.dit import DiTConfig
from worldmodels.oasis.load import load_dit, load_vae, save_model

ROOT = Path(__file__).resolve().parents[1]


def with_header(src: Path, dst: Path, key: str, **changes) -> Path:
    """``src`` rewritten with ``changes`` in the JSON config under ``key`` of its header."""
    header = read_metadata(src)
    header[key] = json.dumps(json.loads(header[key]) | changes)
    return save_tensors(load_tensors(src), dst, header)


def test_every_default_architecture_passes_the_checks():
    from worldmodels.diamond.csgo import CSGOConfig
    from worldmodels.genie.dynamics import DynamicsConfig
    from worldmodels.genie.latent_action import LatentActionConfig
    from worldmodels.genie.tokenizer import TokenizerConfig
    from worldmodels.oasis.vae import VAEConfig

    for cfg in (DiTConfig(), VAEConfig(), TokenizerConfig(), LatentActionConfig(), DynamicsConfig(), AgentConfig()):
        assert config_problems(cfg) == [], cfg
    assert config_problems(CSGOConfig()) == []


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"num_heads": 0}, "num_heads must be a whole number from 1"),
        ({"num_heads": 3}, "hidden_size 1024 is not a multiple of num_heads 3"),
        ({"depth": -2}, "depth must be a whole number"),
        ({"hidden_size": "1024"}, "hidden_size must be a whole number .* got '1024'"),
        ({"hidden_size": True}, "hidden_size must be a whole number"),
        ({"mlp_ratio": float("inf")}, "mlp_ratio must be a finite number"),
        ({"max_frames": 2**40}, "max_frames must be a whole number from 1 to 1048576"),
    ],
)
def test_config_problems_name_the_field(changes, problem):
    problems = config_problems(DiTConfig(**changes))
    assert len(problems) == 1
    assert __import__("re").search(problem, problems[0])


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"num_heads": 0}, "bad model config: num_heads must be a whole number from 1"),
        ({"hidden_size": 96}, "checkpoint does not match DiT: .*wrong shape"),
        ({"depth": 3}, "checkpoint does not match DiT: .*missing: blocks.2"),
    ],
)
def test_oasis_header_is_checked_before_building(tmp_path, changes, message):
    dit, _ = tiny_models()
    good = save_model(dit, tmp_path / "dit.safetensors")
    bad = with_header(good, tmp_path / "bad.safetensors", "dit_config", **changes)
    with pytest.raises(UserError, match="bad.safetensors: " + message):
        load_dit(bad)


def test_vae_header_with_a_size_that_is_no_multiple_of_the_patch_is_refused(tmp_path):
    _, vae = tiny_models()
    good = save_model(vae, tmp_path / "vae.safetensors")
    bad = with_header(good, tmp_path / "bad.safetensors", "vae_config", input_height=vae.cfg.input_height + 1)
    with pytest.raises(UserError, match="bad.safetensors: bad model config: input_height .* is not a multiple"):
        load_vae(bad)


def test_a_header_asking_for_a_huge_model_allocates_nothing(tmp_path):
    """The header of a small file says hidden_size 8192 (about 1.6 GB of weights): refused on the meta device,
    so the loading process's peak memory hardly grows. Run in a fresh process to read its own peak."""
    dit, _ = tiny_models()
    good = save_model(dit, tmp_path / "dit.safetensors")
    bad = with_header(good, tmp_path / "bad.safetensors", "dit_config", hidden_size=8192, num_heads=16, depth=1)
    script = f"""
import resource, sys
from worldmodels.core.errors import UserError
from worldmodels.oasis.load import load_dit
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load_dit({str(bad)!r})
except UserError as e:
    print("refused:", e)
print("grew_mb", (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300).stdout
    assert "refused:" in out and "does not match DiT" in out, out
    assert float(out.split("grew_mb")[1]) < 200, out


def test_build_strict_refuses_a_config_that_cannot_be_built_or_whose_buffers_are_huge():
    def divides_by_zero():
        return torch.nn.Linear(4, 4 // 0)

    with pytest.raises(UserError, match="m.pt: cannot build the model its config describes .ZeroDivisionError"):
        build_strict(divides_by_zero, {}, "m.pt")

    class Table(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("table", torch.zeros(2**27), persistent=False)  # 512 MB, beside 16 bytes of weights
            self.scale = torch.nn.Parameter(torch.ones(4))

    with pytest.raises(UserError, match="t.pt: its config asks for 0.5 GiB of buffers"):
        build_strict(Table, {"scale": torch.ones(4)}, "t.pt")


def test_genie_header_is_checked(tmp_path):
    from worldmodels.genie.genie_module import CONFIG_KEY, load_genie

    bundled = ROOT / "worldmodels" / "pretrained" / "genie_coinrun_small.safetensors"
    header = read_metadata(bundled)
    configs = json.loads(header[CONFIG_KEY])
    configs["lam"]["heads"] = 0
    bad = save_tensors(load_tensors(bundled), tmp_path / "bad.safetensors", {CONFIG_KEY: json.dumps(configs)})
    with pytest.raises(UserError, match=r"bad.safetensors \[lam\]: bad model config: heads must be a whole number"):
        load_genie(bad)
    configs["lam"] = [1, 2]
    bad = save_tensors(load_tensors(bundled), tmp_path / "list.safetensors", {CONFIG_KEY: json.dumps(configs)})
    with pytest.raises(UserError, match=r"list.safetensors \[lam\]: bad model config \(expected a mapping"):
        load_genie(bad)


@pytest.mark.parametrize(
    "section, changes, message",
    [
        ("denoiser", {"inner_model": {"num_steps_conditioning": 0}}, "num_steps_conditioning must be a whole number"),
        ("denoiser", {"inner_model": {"channels": [8, 8]}}, "depths, channels, attn_depths must be equally long"),
        ("actor_critic", {"lstm_dim": 1.5}, "actor_critic.lstm_dim must be a whole number"),
        ("rew_end_model", {"channels": "wide"}, "rew_end_model.channels must be a list of whole numbers"),
    ],
)
def test_diamond_agent_yaml_is_checked(tmp_path, section, changes, message):
    cfg = AgentConfig().with_num_actions(4).to_dict()
    for key, value in changes.items():
        cfg[section][key] = cfg[section][key] | value if isinstance(value, dict) else value
    (tmp_path / "agent.yaml").write_text(yaml.safe_dump(cfg))
    torch.save(Agent(AgentConfig().with_num_actions(4)).state_dict(), tmp_path / "agent.pt")
    with pytest.raises(UserError, match="agent.yaml: bad model config: .*" + message):
        load_agent(tmp_path / "agent.pt")


def test_a_config_that_fits_loads_exactly(tmp_path):
    dit, _ = tiny_models()
    path = save_model(dit, tmp_path / "dit.safetensors")
    loaded = load_dit(path)
    assert asdict(loaded.cfg) == asdict(dit.cfg)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), dit.state_dict().values()))
