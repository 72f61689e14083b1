"""Training the Oasis DiT with diffusion forcing."""

import dataclasses
import json
import sys
from pathlib import Path

import pytest
import torch
import yaml
from torch import Tensor

from tests.oasis_fixtures import TINY_DIT
from worldmodels.data.episodes import EpisodeDataset
from worldmodels.diffusion.ddim import sigmoid_beta_schedule
from worldmodels.oasis.diffusion_forcing import DiffusionForcing
from worldmodels.oasis.dit import DiT
from worldmodels.oasis.train_module import action_conditions

CONFIGS = Path(__file__).parents[1] / "configs" / "oasis"


def test_the_loss_equals_a_hand_computation_for_fixed_noise_and_levels():
    torch.manual_seed(0)
    dit = DiT(TINY_DIT)
    x0, noise = torch.randn(2, 3, 16, 4, 4), torch.randn(2, 3, 16, 4, 4)
    actions, levels = torch.randn(2, 3, 25), torch.tensor([[0, 500, 999], [14, 14, 300]])
    loss = DiffusionForcing().loss(dit, x0, actions, levels, noise)

    alphas = torch.cumprod(1 - sigmoid_beta_schedule(1000).float(), 0)  # the sampler's schedule
    noisy, targets, weights = torch.empty_like(x0), torch.empty_like(x0), torch.empty(2, 3)
    for i in range(2):
        running = 0.0  # the decayed running min(SNR, 5) / 5 of the clip's frames so far
        for j in range(3):
            a = alphas[levels[i, j]]
            noisy[i, j] = a.sqrt() * x0[i, j] + (1 - a).sqrt() * noise[i, j]
            targets[i, j] = a.sqrt() * noise[i, j] - (1 - a).sqrt() * x0[i, j]
            snr = (a / (1 - a)).item()
            before = 0.96 * running if j else 0.0
            fused_clipped = 1 - (1 - before) * (1 - min(snr, 5) / 5)
            fused = 1 - (1 - before) * (1 - snr / 5)
            weights[i, j] = fused_clipped * 5 / (fused * 5 + 1)
            running = min(snr, 5) / 5 if j == 0 else 0.96 * running + 0.04 * min(snr, 5) / 5
    v = dit(noisy, levels, actions)
    expected = (((v - targets) ** 2).mean(dim=(2, 3, 4)) * weights).mean()
    assert torch.allclose(loss, expected, rtol=1e-5)
    # the first frame: plain min-SNR; a noisy frame after a clean one weighs far more than one alone
    assert abs(weights[0, 0] - 5 / (alphas[0] / (1 - alphas[0]) + 1)) < 1e-6
    assert weights[0, 1] > 0.5 and weights[0, 2] > 0.5


def test_every_frame_draws_its_own_noise_level():
    levels = DiffusionForcing().levels(64, 8, "cpu", torch.Generator().manual_seed(0))
    assert levels.min() >= 0 and levels.max() < 1000
    assert (levels != levels[:, :1]).any(dim=1).float().mean() > 0.99, "frames of a clip share a level"


def test_clean_context_clips_are_laid_out_as_the_sampler_sees_them():
    from worldmodels.oasis.diffusion_forcing import DiffusionForcingConfig
    from worldmodels.oasis.sampler import STABILIZATION_LEVEL

    levels = DiffusionForcing(DiffusionForcingConfig(clean_context=0.5)).levels(4000, 8, "cpu")
    clean = levels < STABILIZATION_LEVEL
    laid_out = clean[:, 0] & ~clean[:, -1]  # independent levels give this to 1.5 % x 98.5 % of the clips
    assert 0.45 < laid_out.float().mean() < 0.55
    context_length = clean[laid_out].int().cumprod(dim=1).sum(dim=1)  # the clean frames before the first noisy
    assert set(context_length.tolist()) == set(range(1, 8)), "every context length from 1 to 7 frames"
    noisy_after = levels[laid_out].gather(1, context_length[:, None].long())
    assert noisy_after.float().mean() > 400, "the frame after the context draws from every level"


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


def moving_bar_clips(n: int, frames: int, generator: torch.Generator, first: int = 0) -> tuple[Tensor, Tensor]:
    """Latent clips (n frames 16 4 4, values +-1) of one bright column on a ring of 4, and the action taken at
    each frame (n frames): 0 stays, 1 right, 2 left, moving the bar for the next frame; actions from ``first``."""
    moves = torch.tensor([0, 1, -1])
    taken = torch.randint(first, 3, (n, frames), generator=generator)
    column = torch.randint(0, 4, (n,), generator=generator)
    x = torch.full((n, frames, 16, 4, 4), -1.0)
    for t in range(frames):
        x[torch.arange(n), t, :, :, column] = 1.0
        column = (column + moves[taken[:, t]]) % 4
    return x, taken


def bar_column(latents: Tensor) -> Tensor:
    return latents.mean(dim=(1, 2)).argmax(dim=-1)


@pytest.fixture(scope="module")
def bar_models() -> tuple[DiT, DiT]:
    """(a tiny DiT trained 1200 steps on moving bars, the same untrained), about 30 s on one CPU thread."""
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    trained, objective = DiT(TINY_DIT), DiffusionForcing()
    untrained = DiT(TINY_DIT)
    optimizer = torch.optim.AdamW(trained.parameters(), lr=2e-3)
    for _ in range(1200):
        x0, taken = moving_bar_clips(32, 4, generator)
        loss = objective.loss(trained, x0, action_conditions(taken, 25))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return trained.eval(), untrained.eval()


def test_a_briefly_trained_model_follows_the_action_and_an_untrained_one_does_not(bar_models):
    from worldmodels.oasis.sampler import OasisSampler

    x0, taken = moving_bar_clips(256, 3, torch.Generator().manual_seed(1))  # fresh clips: 2 context frames
    conditions = action_conditions(taken, 25)
    followed = {}
    for name, dit in zip(("trained", "untrained"), bar_models):
        sampler = OasisSampler(dit, vae=None, ddim_steps=10)
        sampler.reset(x0[:, :2], conditions[:, :2])
        torch.manual_seed(1)
        frame = sampler.next_frame(conditions[:, 2])
        followed[name] = (bar_column(frame) == bar_column(x0[:, 2])).float().mean().item()
    # measured 0.97 (1 or 2 threads), 0.91 (AVX2, default ATen kernels); 0.79-0.99 over three seeds at 1000
    # steps; chance is about 1/3 (copying the last frame)
    assert followed["trained"] >= 0.7 and followed["untrained"] < 0.45, followed


def test_the_evaluation_tells_a_model_that_follows_its_actions_from_an_untrained_one(bar_models):
    from worldmodels.oasis.evaluation import evaluate

    video, taken = moving_bar_clips(64, 8, torch.Generator().manual_seed(2), first=1)  # the bar always moves
    trained, untrained = (evaluate(dit, video, taken, context=2, horizon=6) for dit in bar_models)

    # measured: one step 22.0 dB vs 3.0 copying; action gain +6.8 ± 0.9 dB; untrained 4.0 dB and +0.00 dB
    def bars(m):
        return (
            m["one_step_psnr"] > m["copy_last_frame_psnr"] + 3,
            m["action_gain"] > 3 * m["action_gain_stderr"] > 0.5,
        )

    assert bars(trained) == (True, True) and bars(untrained) == (False, False), (trained, untrained)


def oasis_data(root: Path, num_actions: int = 15) -> Path:
    from tests.test_genie_pipeline import pushed_square_episode

    for split, count in (("train", 3), ("val", 1)):
        dataset = EpisodeDataset(root / "data" / "coinrun" / split)
        for seed in range(count):
            episode = pushed_square_episode(12, seed + 10 * len(split))
            dataset.add(dataclasses.replace(episode, act=episode.act % num_actions))
    return root / "data"


def straight_and_resumed(tmp_path: Path, *options: str) -> tuple[dict, dict]:
    """The last checkpoints of the tiny config trained 10 steps straight and 5 steps then resumed to 10."""
    from challenges.oasis import train as train_cli

    # 9 clips of 4 frames in batches of 2: 5 steps an epoch; the warm-up's 5 steps do not depend on max_steps
    config = ["fit", "-c", str(CONFIGS / "tiny.yaml"), *options, "--trainer.val_check_interval", "5"]  # saves at 5, 10
    train_cli.main([*config, "--trainer.max_steps", "10"])
    train_cli.main([*config, "--trainer.max_steps", "5"])
    first = tmp_path / "data/log/oasis/version_1/checkpoints/last.ckpt"
    train_cli.main([*config, "--trainer.max_steps", "10", "--ckpt_path", str(first)])
    straight = torch.load(tmp_path / "data/log/oasis/version_0/checkpoints/last.ckpt", weights_only=True)
    return straight, torch.load(tmp_path / "data/log/oasis/version_2/checkpoints/last.ckpt", weights_only=True)


def test_oasis_train_fit_logs_checkpoints_and_resumes_exactly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["oasis-train"])
    oasis_data(tmp_path)
    straight, resumed = straight_and_resumed(tmp_path)
    assert straight["global_step"] == resumed["global_step"] == 10
    for name, tensor in straight["state_dict"].items():
        assert torch.equal(tensor, resumed["state_dict"][name]), name
    metrics = (tmp_path / "data/log/oasis/version_0/metrics.csv").read_text()
    assert "train/loss" in metrics and "val/loss" in metrics
    assert list((tmp_path / "data/log/oasis/version_0").glob("events.out.tfevents.*"))


def test_a_run_with_the_weight_average_ships_the_average_and_resumes_exactly(tmp_path, monkeypatch):
    """configs/oasis/breakout_small.yaml adds Lightning's EMAWeightAveraging: evaluation, play and the export
    must read the averaged weights, and a resumed run must continue the average where it stopped."""
    from worldmodels.oasis.train_module import export_trained_dit, load_trained_dit

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["oasis-train"])
    oasis_data(tmp_path)
    shipped = yaml.safe_load((CONFIGS / "breakout_small.yaml").read_text())["trainer"]["callbacks+"]
    assert [c["class_path"] for c in shipped] == ["lightning.pytorch.callbacks.EMAWeightAveraging"]
    average = {"class_path": shipped[0]["class_path"], "init_args": {"decay": 0.5, "update_starting_at_step": 2}}
    (tmp_path / "ema.yaml").write_text(yaml.safe_dump({"trainer": {"callbacks+": [average]}}))
    straight, resumed = straight_and_resumed(tmp_path, "-c", "ema.yaml")
    for key in ("state_dict", "current_model_state"):
        for name, tensor in straight[key].items():
            assert torch.equal(tensor, resumed[key][name]), (key, name)
    name = "dit.final_layer.linear.weight"
    assert not torch.equal(straight["state_dict"][name], straight["current_model_state"][name])
    checkpoint = tmp_path / "data/log/oasis/version_0/checkpoints/last.ckpt"
    exported = export_trained_dit(checkpoint, tmp_path / "small.safetensors", torch.float32)
    for model in (checkpoint, exported):
        assert torch.equal(load_trained_dit(model).final_layer.linear.weight, straight["state_dict"][name])


def test_actions_outside_the_models_range_are_one_line(tmp_path, monkeypatch, capsys):
    from challenges.oasis import train as train_cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["oasis-train"])
    oasis_data(tmp_path)
    with pytest.raises(SystemExit):
        train_cli.main(["fit", "-c", str(CONFIGS / "tiny.yaml"), "--model.num_actions", "3"])
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: the data has actions ") and err[-1].endswith("--model.num_actions is 3")


def test_a_trained_model_plays_in_oasis_play_and_other_files_are_refused(tmp_path, monkeypatch, capsys):
    from challenges.oasis import evaluate as eval_cli
    from challenges.oasis import play as play_cli
    from challenges.oasis import train as train_cli
    from worldmodels.core.checkpoints import save_tensors
    from worldmodels.core.errors import UserError
    from worldmodels.core.video import read_frames, read_image
    from worldmodels.oasis.train_module import export_trained_dit, load_trained_dit

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["oasis-train"])
    oasis_data(tmp_path)
    (tmp_path / "data/coinrun/test").symlink_to(tmp_path / "data/coinrun/val")
    train_cli.main(["fit", "-c", str(CONFIGS / "tiny.yaml"), "--trainer.max_steps", "2"])
    checkpoint = tmp_path / "data/log/oasis/version_0/checkpoints/last.ckpt"
    trained = load_trained_dit(checkpoint)
    assert trained.cfg.external_cond_dim == 15
    exported = export_trained_dit(checkpoint, tmp_path / "small.safetensors")  # float16, as it ships
    for name, tensor in load_trained_dit(exported).state_dict().items():
        assert tensor.dtype == torch.float32
        torch.testing.assert_close(tensor, trained.state_dict()[name].half().float(), rtol=0, atol=0)

    for model in (checkpoint, exported):
        play_cli.main(
            ["--checkpoint", str(model), "--headless", "--frames", "4", "--out", "own.mp4", "--ddim-steps", "2"]
        )
        assert len(read_frames(tmp_path / "own.mp4")) == 4
    eval_cli.main(["--checkpoint", str(exported), "--split", "val", "--context", "2", "--horizon", "4"])
    report = json.loads((tmp_path / "data/oasis_eval.json").read_text())
    assert report["num_clips"] == 2 and report["copy_last_frame_psnr"] > 0 and report["ddim_steps"] == 10
    assert read_image(tmp_path / "data/oasis_eval.grid.png").shape[1:] == (4 * (2 * 64 + 2) + 2, 120 + 4 * 130 + 2)
    capsys.readouterr()
    with pytest.raises(SystemExit):
        play_cli.main(["--checkpoint", str(checkpoint), "--dit", "x.safetensors"])
    assert capsys.readouterr().err.strip().endswith("--checkpoint plays a model of your own: drop --dit")
    torch.save({"state_dict": {}}, tmp_path / "other.ckpt")
    with pytest.raises(UserError, match="not a oasis-train checkpoint"):
        load_trained_dit(tmp_path / "other.ckpt")
    with pytest.raises(UserError, match="other.safetensors: not an exported oasis-train model"):
        load_trained_dit(save_tensors({"x": torch.zeros(1)}, tmp_path / "other.safetensors"))


def test_pixel_space_sampling_round_trips_frames_and_procgen_keys_pick_combos():
    from worldmodels.envs.procgen_keys import ProcgenKeymap
    from worldmodels.envs.procgen_moves import COMBO_NAMES
    from worldmodels.oasis.sampler import OasisSampler

    frames = torch.randint(0, 256, (1, 2, 3, 8, 8), dtype=torch.uint8)
    sampler = OasisSampler(DiT(dataclasses.replace(TINY_DIT, in_channels=3)), None)
    assert torch.equal(sampler.decode(sampler.encode(frames)[:, 1]), frames[:, 1].permute(0, 2, 3, 1))
    keymap = ProcgenKeymap()
    assert COMBO_NAMES[keymap(set())] == "none" and COMBO_NAMES[keymap({"left"})] == "LEFT"
    assert COMBO_NAMES[keymap({"left", "up"})] == "LEFT+UP" and COMBO_NAMES[keymap({"d"})] == "D"
