"""The bundled small models load, play offline, and predict fresh real data better than trivial baselines.

Fresh data: Breakout and CoinRun played anew with a seed no training run used (worldmodels/pretrained/checks.py).
Each check also runs on a randomly initialised model of the same shape, which must fail it.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from worldmodels.core.video import read_frames
from worldmodels.diamond.agent import load_agent
from worldmodels.genie.genie_module import load_genie
from worldmodels.oasis.train_module import load_trained_dit
from worldmodels.pretrained import DIAMOND_BREAKOUT, GENIE_COINRUN, OASIS_BREAKOUT, checks, model_card

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "path, bars",
    [(DIAMOND_BREAKOUT, checks.DIAMOND_BARS), (GENIE_COINRUN, checks.GENIE_BARS), (OASIS_BREAKOUT, checks.OASIS_BARS)],
)
def test_bundled_models_are_small_and_carry_a_card_with_their_measurements(path, bars):
    assert path.stat().st_size < 10 * 2**20
    card = model_card(path).read_text()
    assert all(name in card for name in bars)


@pytest.fixture(scope="module")
def breakout_agent():
    return load_agent(DIAMOND_BREAKOUT)


@pytest.fixture(scope="module")
def breakout_metrics(breakout_agent):
    with torch.no_grad():
        return checks.diamond_metrics(breakout_agent)


def test_bundled_diamond_predicts_and_follows_actions(breakout_metrics):
    assert checks.failures(breakout_metrics, checks.DIAMOND_BARS) == []
    kept = breakout_metrics["objects_kept"]  # a share of few rollouts: its binomial standard error beside it
    stderr = (kept * (1 - kept) / checks.DIAMOND_PLAY_CLIPS) ** 0.5
    assert breakout_metrics["objects_kept_stderr"] == pytest.approx(stderr)


def test_random_diamond_fails_the_same_checks(breakout_agent):
    with torch.no_grad():
        metrics = checks.diamond_metrics(checks.random_like(breakout_agent))
    assert len(checks.failures(metrics, checks.DIAMOND_BARS)) == len(checks.DIAMOND_BARS)


@pytest.fixture(scope="module")
def coinrun_folder(tmp_path_factory):
    return checks.fresh_coinrun(tmp_path_factory.mktemp("coinrun_held_out"))


def test_bundled_genie_reconstructs_and_is_controllable(coinrun_folder):
    metrics = checks.genie_metrics(*load_genie(GENIE_COINRUN), coinrun_folder)
    assert checks.failures(metrics, checks.GENIE_BARS) == []


def test_random_genie_fails_the_same_checks(coinrun_folder):
    models = [checks.random_like(m) for m in load_genie(GENIE_COINRUN)]
    metrics = checks.genie_metrics(*models, coinrun_folder)
    assert len(checks.failures(metrics, checks.GENIE_BARS)) == len(checks.GENIE_BARS)


def test_bundled_oasis_predicts_fresh_breakout():
    with torch.no_grad():
        metrics = checks.oasis_metrics(load_trained_dit(OASIS_BREAKOUT))
    assert checks.failures(metrics, checks.OASIS_BARS) == []


def test_random_oasis_fails_the_same_checks():
    with torch.no_grad():
        metrics = checks.oasis_metrics(checks.random_like(load_trained_dit(OASIS_BREAKOUT)))
    assert len(checks.failures(metrics, checks.OASIS_BARS)) == len(checks.OASIS_BARS)


def offline_env(tmp_path: Path) -> dict[str, str]:
    """No hub: an endpoint that refuses connections and an empty cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    return env | {"SDL_VIDEODRIVER": "dummy", "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(tmp_path / "hf")}


def test_diamond_play_falls_back_to_the_bundled_model_without_hub(tmp_path):
    cmd = [str(BIN / "diamond-play"), "--pretrained", "--game", "Breakout", "-n", "50"]
    cmd += ["--headless", "--frames", "5", "--out", "wm.mp4"]
    run = subprocess.run(cmd, cwd=tmp_path, env=offline_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "playing the bundled small Breakout model" in run.stdout
    assert "real steps with the policy" in run.stdout  # its actor is trained: the policy plays, not random actions
    assert read_frames(tmp_path / "wm.mp4").shape[0] == 5
    pong = subprocess.run(cmd[:3] + ["Pong", "--headless", "--out", "p.mp4"], cwd=tmp_path, env=offline_env(tmp_path))
    assert pong.returncode == 2  # no bundled Pong: the hub error stands


def test_genie_play_pretrained_writes_a_video_from_a_fresh_level(tmp_path):
    cmd = [str(BIN / "genie-play"), "--pretrained", "--output", "coinrun.mp4", "--actions", "1,2,3", "--steps", "4"]
    run = subprocess.run(cmd, cwd=tmp_path, env=offline_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert read_frames(tmp_path / "coinrun.mp4").shape[0] == 4


def test_oasis_play_falls_back_to_the_bundled_breakout_without_hub(tmp_path):
    cmd = [str(BIN / "oasis-play"), "--headless", "--frames", "6", "--out", "oasis.mp4"]
    run = subprocess.run(cmd, cwd=tmp_path, env=offline_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Oasis 500M (oasis500m.safetensors, vit-l-20.safetensors): not in data/oasis/")
    assert "playing the bundled small Breakout model instead" in run.stdout
    assert read_frames(tmp_path / "oasis.mp4").shape[0] == 6
    Image.new("RGB", (640, 360)).save(tmp_path / "prompt.png")
    cmd += ["--prompt", "prompt.png"]  # a Minecraft prompt asks for Oasis 500M: its error stands
    minecraft = subprocess.run(cmd, cwd=tmp_path, env=offline_env(tmp_path), capture_output=True, text=True)
    assert minecraft.returncode == 2 and "error: Oasis needs oasis500m.safetensors" in minecraft.stderr


def test_oasis_play_checks_that_a_model_was_trained_on_the_game_named(tmp_path, monkeypatch, capsys):
    from challenges.oasis import play as play_cli

    monkeypatch.chdir(tmp_path)  # a play that wrongly went ahead writes its video here, not in the checkout

    with pytest.raises(SystemExit):
        play_cli.main(["--checkpoint", str(OASIS_BREAKOUT), "--env_name", "coinrun", "--headless", "--out", "x.mp4"])
    assert capsys.readouterr().err.strip() == (
        "error: the model takes 4 actions and coinrun has 15: is --env_name the game it was trained on?"
    )
