"""oasis-play / oasis-generate as a user runs them: where the weights come from, how actions line up with
the prompt frames, and one-line errors for bad options before any model loads."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from oasis_fixtures import tiny_models
from PIL import Image

from challenges.oasis.common import action_script
from worldmodels.core.video import read_frames
from worldmodels.oasis import OasisSampler, save_model
from worldmodels.oasis.play import OasisBackend
from worldmodels.oasis.prompt import load_prompt

BIN = Path(sys.executable).parent
ENV = os.environ | {"SDL_VIDEODRIVER": "dummy"}


def run(cmd: list[str], cwd: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=ENV | env, capture_output=True, text=True)


@pytest.fixture
def workshop(tmp_path):
    """A working folder with the tiny models and the sample prompt where `make challenge3` looks: data/oasis/."""
    local = tmp_path / "data" / "oasis"
    local.mkdir(parents=True)
    dit, vae = tiny_models()
    save_model(dit, local / "oasis500m.safetensors")
    save_model(vae, local / "vit-l-20.safetensors")
    frame = np.random.default_rng(0).integers(0, 255, (360, 640, 3), dtype=np.uint8)
    Image.fromarray(frame).save(local / "sample_image_0.png")
    actions = torch.zeros(10, 25)
    actions[torch.arange(10), torch.arange(10)] = 1  # action k presses key k: every step differs
    torch.save(actions, tmp_path / "clip.one_hot_actions.pt")
    return tmp_path


def test_weights_and_prompt_from_data_oasis_play_without_flags(workshop):
    cmd = [str(BIN / "oasis-play"), "--headless", "--frames", "2", "--out", "run.mp4", "--ddim-steps", "1"]
    played = run(cmd, workshop)
    assert played.returncode == 0, played.stderr
    assert read_frames(workshop / "run.mp4").shape[0] == 2


def test_missing_weights_name_both_files_and_where_to_put_them(tmp_path):
    """Asked for the published weights by name (without any, oasis-play plays the bundled small model instead:
    tests/test_pretrained.py), it says which files it needs and where they go."""
    cmd = [str(BIN / "oasis-play"), "--headless", "--frames", "1", "--out", "run.mp4", "--offline"]
    cmd += ["--vae", "hf://Etched/oasis-500m/vit-l-20.safetensors"]
    missing = run(cmd, tmp_path, HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1")
    assert missing.returncode == 2
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for part in ("oasis500m.safetensors", "vit-l-20.safetensors", "Etched/oasis-500m", "data/oasis"):
        assert part in lines[0]
    assert "data/oasis/sample_image_0.png" in lines[0]  # without --prompt, the sample frame is needed too


def test_a_wrong_prompt_fails_before_the_weights_load(workshop):
    (workshop / "garbage.safetensors").write_text("not weights")
    cmd = [str(BIN / "oasis-play"), "--headless", "--frames", "1", "--out", "run.mp4", "--prompt", "typo.png"]
    failed = run(cmd + ["--dit", "garbage.safetensors"], workshop)
    assert failed.returncode == 2 and failed.stderr.strip() == "error: typo.png: image file not found"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--n-prompt-frames", "0"], "--n-prompt-frames must be at least 1"),
        (["--n-prompt-frames", "2"], "--n-prompt-frames 2 needs a video --prompt"),
        (["--video-offset", "-1"], "--video-offset must be 0 or more"),
        (["--fps", "0"], "--fps must be positive"),
        (["--out", "run.avi"], "can only write .mp4 or .gif"),
        (["--actions", "clip.one_hot_actions.pt", "--frames", "20"], "--frames 20 after 1 prompt frame(s) needs 20"),
    ],
)
def test_bad_play_options_fail_in_one_line_before_loading(workshop, args, message):
    cmd = [str(BIN / "oasis-play"), "--headless", "--frames", "1", "--out", "run.mp4", *args]
    failed = run(cmd, workshop)
    assert failed.returncode == 2 and message in failed.stderr.strip().splitlines()[-1]  # after argparse's usage
    assert "Traceback" not in failed.stderr and "loading" not in failed.stdout


def test_actions_need_headless(workshop):
    failed = run([str(BIN / "oasis-play"), "--actions", "clip.one_hot_actions.pt"], workshop)
    assert failed.returncode == 2 and "--actions replays a file in a headless run" in failed.stderr


def test_video_offset_skips_the_same_actions_as_prompt_frames(workshop):
    file = torch.load(workshop / "clip.one_hot_actions.pt")
    script = action_script(str(workshop / "clip.one_hot_actions.pt"), video_offset=3)
    assert torch.equal(script[0], torch.zeros(25)) and torch.equal(script[1:], file[3:])  # as the reference
    image = workshop / "data" / "oasis" / "sample_image_0.png"
    assert torch.equal(load_prompt(image, offset=3), load_prompt(image))  # an image is its only frame


def test_prompt_frames_are_conditioned_on_the_script_like_the_reference(workshop):
    dit, vae = tiny_models()
    sampler = OasisSampler(dit, vae, ddim_steps=1)
    script = action_script(str(workshop / "clip.one_hot_actions.pt"))
    prompt = torch.randint(0, 255, (1, 2, 3, 360, 640), dtype=torch.uint8)
    backend = OasisBackend(sampler, prompt, script=script)
    backend.reset()
    assert torch.equal(sampler.actions[0], script[:2])  # frame k of the prompt: action k (zero, file 0)
    backend.step(backend.scripted_action(np.random.default_rng(0)))
    assert torch.equal(sampler.actions[0, -1], script[2])  # the first new frame: file action 1, as generate.py


def test_generated_video_starts_with_the_decoded_prompt_as_the_reference(workshop):
    dit, vae = tiny_models()
    sampler = OasisSampler(dit, vae, ddim_steps=1)
    actions = action_script(str(workshop / "clip.one_hot_actions.pt"))[None]
    prompt = torch.randint(0, 255, (1, 2, 3, 360, 640), dtype=torch.uint8)
    frames = list(sampler.video(prompt, actions, num_frames=4))
    assert len(frames) == 4 and frames[0].shape == (360, 640, 3)
    decoded = sampler.decode(sampler.encode(prompt)[:, 1])[0].numpy()
    assert np.array_equal(frames[1], decoded) and not np.array_equal(frames[1], prompt[0, 1].permute(1, 2, 0).numpy())
    assert torch.equal(sampler.actions[0], actions[0, 1:4])  # frame i on action i (the 3 the next window sees)
