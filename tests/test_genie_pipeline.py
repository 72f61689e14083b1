"""Genie after the tokenizer: genie fit (LAM + dynamics over the frozen tokenizer), genie-play, its play
backend, genie-eval and its metrics, on tiny configs and a tiny synthetic data set."""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from challenges.genie import eval as eval_cli
from challenges.genie import genie as genie_cli
from challenges.genie import play as play_cli
from challenges.genie import tokenizer as tokenizer_cli
from worldmodels.core.checkpoints import save_tensors
from worldmodels.core.errors import UserError
from worldmodels.core.video import read_video
from worldmodels.data.episodes import Episode, EpisodeDataset
from worldmodels.genie.evaluation import standard_error
from worldmodels.genie.generate import GenieWorld
from worldmodels.genie.genie_module import GenieModule, export_genie, load_genie
from worldmodels.genie.metrics import normalized_mutual_information
from worldmodels.genie.play import GenieBackend
from worldmodels.genie.tokenizer_module import load_tokenizer
from worldmodels.play.backend import InputState

CONFIGS = Path(__file__).parents[1] / "configs" / "tiny"
MOVES = np.array([[0, 0], [0, 3], [0, -3], [3, 0]])  # action k moves the square by MOVES[k % 4]


def pushed_square_episode(length: int, seed: int) -> Episode:
    """A square on a two-tone background that the (random) action pushes: frames that depend on actions."""
    rng = np.random.default_rng(seed)
    act = rng.integers(0, 15, length)
    frames, (y, x) = [], rng.integers(16, 40, 2)
    for t in range(length + 1):
        frame = np.zeros((64, 64, 3), np.uint8)
        frame[32:] = (40, 90, 160)
        frame[y : y + 10, x : x + 10] = (250, 200, 30)
        frames.append(frame)
        y, x = np.clip([y, x] + MOVES[act[t % length] % 4], 0, 54)
    zeros = np.zeros(length)
    return Episode.from_steps(frames[:-1], act, zeros, zeros, np.eye(1, length, length - 1)[0], frames[-1])


@pytest.fixture(autouse=True)
def quiet_and_single_threaded(monkeypatch):
    """LightningCLI warns when sys.argv (pytest's flags) and args are both given; tiny models run fastest on
    one thread on a busy 2-core machine."""
    monkeypatch.setattr(sys, "argv", ["genie"])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict[str, Path]:
    """Data, a tokenizer and a genie checkpoint, each trained for 4 steps from the tiny configs."""
    root = tmp_path_factory.mktemp("genie_pipeline")
    for split, count, length in (("train", 3, 12), ("val", 1, 8), ("test", 2, 9)):
        dataset = EpisodeDataset(root / "data" / "coinrun" / split)
        for seed in range(count):
            dataset.add(pushed_square_episode(length, seed + 10 * len(split)))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setattr(sys, "argv", ["genie"])
        short = ["--data.root", "data", "--trainer.max_steps", "4", "--trainer.val_check_interval", "2"]
        short += ["--trainer.log_every_n_steps", "1"]
        tokenizer_cli.main(["fit", "-c", str(CONFIGS / "tokenize.yaml"), *short])
        tokenizer = root / "data" / "log" / "tokenizer" / "version_0" / "checkpoints" / "last.ckpt"
        genie_cli.main(
            ["fit", "-c", str(CONFIGS / "genie.yaml"), "--model.tokenizer_ckpt_path", str(tokenizer), *short]
        )
    torch.set_num_threads(threads)
    log = root / "data" / "log" / "genie" / "version_0"
    return {"root": root, "data": root / "data", "tokenizer": tokenizer, "genie": log / "checkpoints" / "last.ckpt"}


def last_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def test_genie_fit_trains_and_writes_a_reloadable_checkpoint(run):
    checkpoint = torch.load(run["genie"], weights_only=True)
    assert checkpoint["global_step"] == 4
    assert checkpoint["hyper_parameters"]["tokenizer_ckpt_path"] == str(run["tokenizer"])
    metrics = (run["genie"].parents[1] / "metrics.csv").read_text()
    for name in ("train/lam_loss", "train/dynamics_loss", "val/masked_accuracy", "val/action_usage", "val/action_gain"):
        assert name in metrics, name
    assert list((run["genie"].parents[1]).glob("events.out.tfevents.*")), "TensorBoard log missing"
    tokenizer, lam, dynamics = load_genie(run["genie"])
    assert not (tokenizer.training or lam.training or dynamics.training)
    assert lam.cfg.num_codes == dynamics.cfg.num_actions == 8 and dynamics.cfg.num_codes == tokenizer.cfg.num_codes
    frozen = load_tokenizer(run["tokenizer"]).state_dict()
    assert all(torch.equal(tensor, frozen[name]) for name, tensor in tokenizer.state_dict().items()), "not frozen"
    module = GenieModule.load_from_checkpoint(run["genie"])
    assert torch.equal(module.lam.to_latent.weight, lam.to_latent.weight)


@pytest.mark.parametrize("wrong", ["missing", "genie", "garbage"])
def test_genie_fit_rejects_a_wrong_tokenizer_checkpoint(wrong, run, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = {"missing": tmp_path / "none.ckpt", "genie": run["genie"], "garbage": tmp_path / "garbage.ckpt"}[wrong]
    (tmp_path / "garbage.ckpt").write_bytes(b"not a checkpoint")
    args = ["fit", "-c", str(CONFIGS / "genie.yaml"), "--data.root", str(run["data"])]
    with pytest.raises(SystemExit) as exit_info:
        genie_cli.main([*args, "--model.tokenizer_ckpt_path", str(path)])
    assert exit_info.value.code == 2
    expected = {"missing": "not found", "genie": "not a genie-tokenizer checkpoint", "garbage": "not a readable"}
    line = last_error_line(capsys)
    assert line.startswith(f"error: {path}:") and expected[wrong] in line, line


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_commands_reject_a_missing_or_empty_data_folder(make, run, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    if make == "empty":
        for split in ("train", "test"):
            (tmp_path / "coinrun" / split).mkdir(parents=True)
    fit = ["fit", "-c", str(CONFIGS / "genie.yaml"), "--model.tokenizer_ckpt_path", str(run["tokenizer"])]
    commands = [
        (genie_cli, [*fit, "--data.root", str(tmp_path)], "train"),
        (eval_cli, ["--checkpoint", str(run["genie"]), "--root", str(tmp_path)], "test"),
        (play_cli, ["--checkpoint", str(run["genie"]), "--root", str(tmp_path), "--output", "o.mp4"], "test"),
    ]
    for cli, args, split in commands:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(args)
        assert exit_info.value.code == 2
        line = last_error_line(capsys)
        assert line.startswith(f"error: {tmp_path / 'coinrun' / split}:") and "genie-sample" in line, line
    assert not (tmp_path / "data" / "log").exists(), "a failed run left a log folder behind"


def test_resuming_reuses_the_tokenizer_the_run_started_with(run, tmp_path, monkeypatch):
    """From another folder the config's default tokenizer path does not exist; the checkpoint's hyperparameters
    (which LightningCLI reads for --ckpt_path) name the right one."""
    monkeypatch.chdir(tmp_path)
    resume = [
        "fit",
        "-c",
        str(CONFIGS / "genie.yaml"),
        "--data.root",
        str(run["data"]),
        "--ckpt_path",
        str(run["genie"]),
    ]
    genie_cli.main([*resume, "--trainer.max_steps", "6", "--trainer.val_check_interval", "2"])
    resumed = torch.load(tmp_path / "data/log/genie/version_0/checkpoints/last.ckpt", weights_only=True)
    assert resumed["global_step"] == 6
    assert resumed["hyper_parameters"]["tokenizer_ckpt_path"] == str(run["tokenizer"])


def test_play_writes_the_promised_mp4(run, tmp_path, capsys):
    image = tmp_path / "frame.png"
    Image.fromarray(np.full((80, 100, 3), 120, np.uint8)).save(image)  # any size: resized to 64 x 64
    out = tmp_path / "out.mp4"
    play_cli.main(
        ["--checkpoint", str(run["genie"]), "--image", str(image), "--output", str(out)]
        + ["--actions", "0,3,3,5", "--steps", "3"]
    )
    assert read_video(out).shape == (5, 3, 64, 64)
    assert f"wrote {out}: 5 frames" in capsys.readouterr().out
    # Without --image: the first frame of a test episode; --tokenizer_checkpoint replaces the stored tokenizer.
    out = tmp_path / "default.mp4"
    args = ["--checkpoint", str(run["genie"]), "--tokenizer_checkpoint", str(run["tokenizer"]), "--root"]
    play_cli.main([*args, str(run["data"]), "--output", str(out), "--actions", "7", "--steps", "2"])
    assert read_video(out).shape[0] == 2


def test_export_writes_a_float16_file_that_loads_and_plays(run, tmp_path, monkeypatch, capsys):
    exported = export_genie(run["genie"], tmp_path / "genie.safetensors")
    for original, loaded in zip(load_genie(run["genie"]), load_genie(exported)):
        want, got = original.state_dict(), loaded.state_dict()
        assert want.keys() == got.keys()
        for name, tensor in want.items():
            expected = tensor.half().to(tensor.dtype) if tensor.is_floating_point() else tensor
            assert got[name].dtype == tensor.dtype and torch.equal(got[name], expected), name
    monkeypatch.chdir(tmp_path)  # no ./data here: the prompt is the first frame of a fresh procgen level
    play_cli.main(["--checkpoint", str(exported), "--output", "o.mp4", "--actions", "1", "--steps", "2"])
    assert read_video(tmp_path / "o.mp4").shape == (2, 3, 64, 64)
    save_tensors({"w": torch.zeros(1)}, tmp_path / "other.safetensors")
    with pytest.raises(UserError, match="other.safetensors: not an exported genie model"):
        load_genie(tmp_path / "other.safetensors")


def test_play_rejects_bad_input_in_one_line(run, tmp_path, capsys):
    (tmp_path / "garbage.ckpt").write_bytes(b"not a checkpoint")
    genie = ["--checkpoint", str(run["genie"]), "--root", str(run["data"]), "--output", str(tmp_path / "o.mp4")]
    cases = [
        ([*genie, "--image", str(tmp_path / "none.png")], "none.png: file not found"),
        ([*genie, "--actions", "0,8"], "--actions 8: this model has 8 latent actions (0-7)"),
        ([*genie, "--actions", "0,x"], "expected comma-separated latent action ids"),
        (["--checkpoint", str(tmp_path / "garbage.ckpt"), "--output", "o.mp4"], "not a readable checkpoint"),
        (["--checkpoint", str(run["tokenizer"]), "--output", "o.mp4"], "not a genie checkpoint"),
        ([*genie, "--tokenizer_checkpoint", str(run["genie"])], "not a genie-tokenizer checkpoint"),
    ]
    for args, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            play_cli.main(args)
        assert exit_info.value.code == 2
        line = last_error_line(capsys)
        assert line.startswith("error: ") and message in line, line
    assert not (tmp_path / "o.mp4").exists()


def test_play_backend_maps_number_keys_to_latent_actions(run, tmp_path):
    tokenizer, _, dynamics = load_genie(run["genie"])
    world = GenieWorld(tokenizer, dynamics, steps=2, generator=torch.Generator().manual_seed(0))
    backend = GenieBackend(world, torch.zeros(3, 64, 64), default_action=4)
    assert backend.reset().shape == (64, 64, 3)

    def held(*keys):
        return backend.action(InputState(frozenset(keys), pressed_order=keys))

    assert [held(str(k)) for k in range(1, 9)] == list(range(8))
    assert held("[3]") == 2 and held("1", "6") == 5, "keypad digits; the latest pressed number wins"
    assert held() == held("w") == held("9") == 4, "no number key: the default action"
    step = backend.step(held("2"))
    assert step.frame.shape == (64, 64, 3) and step.frame.dtype == np.uint8
    assert step.info == {"frame": 1, "action": 1, "window": "1/3"}
    for _ in range(4):  # past the 4-frame models' window: it slides
        step = backend.step(0)
    assert step.info["frame"] == 5 and step.info["window"] == "3/3"
    out = tmp_path / "run.mp4"
    play_cli.main(
        ["--checkpoint", str(run["genie"]), "--root", str(run["data"]), "--steps", "2"]
        + ["--headless", "--frames", "3", "--out", str(out)]
    )
    assert read_video(out).shape[0] == 3


def test_play_samples_fewer_maskgit_steps_live_than_for_a_video(run, monkeypatch):
    played = []
    monkeypatch.setattr(play_cli, "run_play", lambda backend, args: played.append(backend.world.steps))
    play_cli.main(["--checkpoint", str(run["genie"]), "--root", str(run["data"]), "--headless", "--out", "x.mp4"])
    assert played == [play_cli.PLAY_STEPS] and play_cli.PLAY_STEPS < play_cli.VIDEO_STEPS == 25


def test_eval_writes_every_metric(run, tmp_path, capsys):
    out = tmp_path / "eval.json"
    eval_cli.main(
        ["--checkpoint", str(run["genie"]), "--root", str(run["data"]), "--output", str(out)]
        + ["--num_clips", "3", "--steps", "2", "--num_starts", "2", "--hold", "3"]
    )
    report = json.loads(out.read_text())
    metrics = ["tokenizer_psnr", "tokenizer_ssim", "dynamics_psnr", "token_copy_psnr", "copy_last_frame_psnr"]
    metrics += ["rollout_psnr", "rollout_psnr_random_actions", "delta_t_psnr", "action_nmi", "movement_nmi"]
    metrics += ["movement_probe_accuracy", "movement_majority_accuracy", "latent_actions_used"]
    assert all(math.isfinite(report[k]) for k in metrics), report
    assert report["delta_t_psnr"] == pytest.approx(report["rollout_psnr"] - report["rollout_psnr_random_actions"])
    assert report["delta_t_psnr_stderr"] > 0, "three clips with random actions cannot all gain the same"
    assert report["num_clips"] == 3 and report["num_transitions"] == 2 * 8, "every transition of the test episodes"
    assert 0 <= report["action_nmi"] <= 1 and -1 <= report["tokenizer_ssim"] <= 1
    motion = report["motion"]
    assert len(motion["per_action"]) == 8 and set(motion["best"]) == {"LEFT", "RIGHT", "UP"}  # CoinRun's ways
    assert all(0 <= b["fraction"] <= 1 and 0 < b["real_game"] <= 1 for b in motion["best"].values())
    grid = Image.open(out.with_suffix(".grid.png"))
    assert grid.height == 8 * (2 * 64 + 2) + 2  # one row per latent action, frames shown at twice their size
    table = capsys.readouterr().out
    assert "ΔtPSNR" in table and f"wrote {out}" in table and str(out.with_suffix(".grid.png")) in table


def test_eval_generates_the_last_frame_of_a_clip_from_the_frames_before_it(run, monkeypatch):
    """One step: frame 4 from the real frames 1-3. ΔtPSNR: frames 2-4 rolled out from the real frame 1 alone,
    once with the inferred and once with random latent actions."""
    import worldmodels.genie.evaluation as evaluation

    tokenizer, lam, dynamics = load_genie(run["genie"])
    clip_tokens, contexts, rollouts = [], [], []
    encode, sample, generate = tokenizer.forward, evaluation.sample_next_frame, evaluation.generate

    def recording_encode(video):
        out = encode(video)
        clip_tokens.append(out[1])
        return out

    def recording_sample(model, tokens, *args):
        contexts.append(tokens)
        return sample(model, tokens, *args)

    def recording_generate(model, first, actions, *args):
        rollouts.append((first, actions))
        return generate(model, first, actions, *args)

    monkeypatch.setattr(tokenizer, "forward", recording_encode)
    monkeypatch.setattr(evaluation, "sample_next_frame", recording_sample)
    monkeypatch.setattr(evaluation, "generate", recording_generate)
    folder = run["data"] / "coinrun" / "test"
    evaluation.evaluate_clips(tokenizer, lam, dynamics, folder, 2, 2, 1.0, 8, 0, torch.device("cpu"))
    (tokens,) = clip_tokens  # one batch of clips
    (context,) = contexts
    assert torch.equal(context, tokens.flatten(-2)[:, :-1])  # every frame but the target
    assert len(rollouts) == 2 and all(torch.equal(first, tokens.flatten(-2)[:, :1]) for first, _ in rollouts)
    assert all(actions.shape == (2, 3) for _, actions in rollouts)
    assert not torch.equal(rollouts[0][1], rollouts[1][1])  # inferred, then random


def test_standard_error_of_the_mean_by_hand():
    assert standard_error(torch.tensor([1.0, 2.0, 3.0, 4.0])) == pytest.approx((5 / 3) ** 0.5 / 2)
    assert standard_error(torch.tensor([0.7])) == 0.0


def test_normalized_mutual_information_on_hand_made_labels():
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    assert normalized_mutual_information(labels, labels) == pytest.approx(1.0)
    assert normalized_mutual_information(labels, 7 - labels) == pytest.approx(1.0), "names do not matter"
    assert normalized_mutual_information(labels, labels // 2) == pytest.approx(2 * 1 / (2 + 1))  # I = H(B) = 1 bit
    rng = np.random.default_rng(0)
    assert normalized_mutual_information(rng.integers(0, 8, 20_000), rng.integers(0, 15, 20_000)) < 0.01
    assert normalized_mutual_information([1, 1, 1], [2, 2, 2]) == 1.0
    assert normalized_mutual_information([0, 1, 0, 1], [5, 5, 5, 5]) == 0.0
