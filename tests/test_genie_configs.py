"""Every Genie preset under configs/ describes models that can be built and clips they can hold: a typo'd
key or an inconsistent size must fail here, not hours into a GPU run."""

import inspect
from pathlib import Path

import pytest
import torch
import yaml

from worldmodels.genie.dynamics import DynamicsConfig
from worldmodels.genie.genie_module import GenieModule
from worldmodels.genie.latent_action import LatentActionConfig
from worldmodels.genie.tokenizer_module import TokenizerModule

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
PRESETS = [CONFIGS, *(p for p in sorted(CONFIGS.iterdir()) if (p / "genie.yaml").is_file())]


def model_and_data(path: Path) -> tuple[dict, dict]:
    config = yaml.safe_load(path.read_text())
    return config["model"], config["data"]


@pytest.mark.parametrize("folder", PRESETS, ids=lambda p: p.name)
def test_preset_builds_its_models_and_holds_its_clips(folder):
    tok_model, tok_data = model_and_data(folder / "tokenize.yaml")
    genie_model, genie_data = model_and_data(folder / "genie.yaml")
    assert set(genie_model) <= set(inspect.signature(GenieModule).parameters), "unknown genie model key"
    with torch.device("meta"):  # shapes only: the paper's sizes would not fit a test's memory
        tokenizer = TokenizerModule(**tok_model).tokenizer
    assert tokenizer.cfg.problems() == []
    lam = LatentActionConfig(
        image_size=tokenizer.cfg.image_size,
        patch_size=genie_model["lam_patch_size"],
        dim=genie_model["lam_dim"],
        depth=genie_model["lam_depth"],
        heads=genie_model["lam_heads"],
        num_codes=genie_model["num_actions"],
        latent_dim=genie_model["lam_latent_dim"],
        max_frames=genie_model["max_frames"],
    )
    dynamics = DynamicsConfig(
        num_codes=tokenizer.cfg.num_codes,
        num_actions=genie_model["num_actions"],
        tokens_per_frame=tokenizer.tokens_per_frame,
        dim=genie_model["dynamics_dim"],
        depth=genie_model["dynamics_depth"],
        heads=genie_model["dynamics_heads"],
        max_frames=genie_model["max_frames"],
    )
    assert lam.problems() == [] and dynamics.problems() == []
    assert tok_data["clip_length"] <= tokenizer.cfg.max_frames
    assert genie_data["clip_length"] <= genie_model["max_frames"] <= tokenizer.cfg.max_frames
    assert tok_data["env_name"] == genie_data["env_name"] and tok_data["root"] == genie_data["root"]
