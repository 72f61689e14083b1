"""Latents once (oasis-encode, LatentDataModule) and fine-tuning a DiT in the published layout (init_from,
activation checkpointing, oasis-export), with tiny models on CPU."""

import dataclasses
import functools
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from torchvision.transforms.functional import resize

from tests.oasis_fixtures import TINY_DIT, TINY_VAE, tiny_models
from worldmodels.core.errors import UserError
from worldmodels.core.video import read_video, write_video
from worldmodels.data.episodes import Episode, EpisodeDataset
from worldmodels.oasis import OasisSampler, ViTVAE, load_dit, load_vae, save_model
from worldmodels.oasis.actions import PITCH, YAW, load_actions
from worldmodels.oasis.latents import LatentDataModule
from worldmodels.oasis.train_module import OasisTrainModule

CONFIGS = Path(__file__).parents[1] / "configs" / "oasis"
VPT_ACTIONS = (
    Path(__file__).resolve().parents[2]
    / "shared/fixtures/oasis/treechop-f153ac423f61-20210916-183423.chunk_000.actions.pt"
)
VAE = dataclasses.replace(TINY_VAE, input_height=32, input_width=64, patch_size=8)  # a 4 x 8 latent grid
FRAME = (16, 32)  # episodes' frames: half the VAE's input size, same aspect ratio
TINY_SIZES = {"hidden_size": 64, "depth": 2, "num_heads": 2, "max_frames": 4}  # TINY_DIT, beside the 500M's
TINY_ARGS = ["patch_size", 2, "in_channels", 16, *(x for kv in TINY_SIZES.items() for x in kv), "num_actions", 25]


def episode(length: int, seed: int, size=FRAME) -> Episode:
    rng = np.random.default_rng(seed)
    return Episode(
        obs=rng.integers(0, 256, (length, *size, 3), dtype=np.uint8),
        act=rng.integers(0, 15, length).astype(np.int64),
        rew=np.zeros(length, np.float32),
        end=np.zeros(length, np.uint8),
        trunc=np.zeros(length, np.uint8),
        final_obs=np.zeros((*size, 3), np.uint8),
    )


def write_episodes(root: Path, lengths: dict[str, list[int]], size=FRAME) -> Path:
    for split, split_lengths in lengths.items():
        for i, length in enumerate(split_lengths):
            EpisodeDataset(root / "toy" / split).add(episode(length, seed=i + 10 * len(split), size=size))
    return root


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> tuple[Path, Path]:
    """(a tiny DiT, a tiny ViT-VAE) saved as published-layout files."""
    folder = tmp_path_factory.mktemp("models")
    dit, _ = tiny_models()
    torch.manual_seed(0)
    return save_model(dit, folder / "dit.safetensors"), save_model(ViTVAE(VAE).eval(), folder / "vae.safetensors")


def encode(root: Path, out: Path, vae: Path, *extra: str) -> None:
    from challenges.oasis import encode as encode_cli

    encode_cli.main(["--root", str(root), "--env_name", "toy", "--out", str(out), "--vae", str(vae), *extra])


@pytest.fixture(scope="module")
def latents(models, tmp_path_factory) -> Path:
    """oasis-encode's output for 2 train episodes (9, 6 frames) and 1 val episode (8 frames)."""
    root = write_episodes(tmp_path_factory.mktemp("episodes"), {"train": [9, 6], "val": [8]})
    out = tmp_path_factory.mktemp("latents")
    encode(root, out, models[1], "--device", "cpu", "--quiet")
    return out


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_oasis_encode_stores_the_samplers_latents_skips_done_episodes_and_drops_stale_temps(models, tmp_path, capsys):
    root = write_episodes(tmp_path / "episodes", {"train": [5, 3], "val": [4]})
    out = tmp_path / "latents"
    stale = out / "toy/train" / f".episode_000000.latents.tmp{dead_pid()}-x1y2.npy"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half a file from a killed run")
    encode(root, out, models[1], "--batch_size", "2")  # with the progress bar; batches of 2 frames
    assert "train: encoded 2 episodes, 0 already there" in capsys.readouterr().out
    assert not stale.exists() and not list(out.rglob(".*.tmp*")), "temporary files left behind"

    sampler = OasisSampler(load_dit(models[0]), load_vae(models[1]))
    for split, count in (("train", 2), ("val", 1)):
        for i in range(count):
            source = Episode.load(root / "toy" / split / f"episode_{i:06d}.npz")
            frames = torch.from_numpy(source.obs).permute(0, 3, 1, 2)
            expected = sampler.encode(resize(frames, [32, 64], antialias=True)[None])[0]
            stored = np.load(out / "toy" / split / f"episode_{i:06d}.latents.npy", mmap_mode="r")
            assert stored.dtype == np.float16 and stored.shape == (len(frames), 16, 4, 8)
            torch.testing.assert_close(torch.from_numpy(np.array(stored)).float(), expected, rtol=1e-3, atol=1e-3)
            actions = np.load(out / "toy" / split / f"episode_{i:06d}.actions.npy")
            assert actions.dtype == np.int64 and np.array_equal(actions, source.act)

    done = out / "toy/train/episode_000000.latents.npy"
    before = done.stat().st_mtime_ns
    (out / "toy/train/episode_000001.latents.npy").unlink()  # as if killed before its latents were written
    EpisodeDataset(root / "toy/train").add(episode(4, seed=99))
    encode(root, out, models[1], "--quiet")
    assert "train: encoded 2 episodes, 1 already there" in capsys.readouterr().out
    assert done.stat().st_mtime_ns == before, "an episode already encoded was encoded again"
    assert (out / "toy/train/episode_000001.latents.npy").is_file()
    with pytest.raises(SystemExit):  # the same folder with another fit would mix two kinds of latents
        encode(root, out, models[1], "--fit", "stretch")
    assert "holds latents with another fit" in capsys.readouterr().err


def test_latent_datamodule_items_have_the_genie_contract_with_int_or_float_actions(latents, tmp_path):
    data = LatentDataModule(root=str(latents), env_name="toy", clip_length=4, batch_size=2)
    data.setup("fit")
    assert len(data.datasets["train"]) == 3 and len(data.datasets["val"]) == 2  # back-to-back tiles of 4
    video, actions = next(iter(data.train_dataloader()))
    assert video.shape == (2, 4, 16, 4, 8) and video.dtype == torch.float32
    assert actions.shape == (2, 4) and actions.dtype == torch.long
    val_video, _ = data.datasets["val"][1]
    stored = np.load(latents / "toy/val/episode_000000.latents.npy")
    assert torch.equal(val_video, torch.from_numpy(stored[4:8]).float())  # fixed tiles, float32

    float_root = tmp_path / "float"
    for path in (latents / "toy/train").glob("*.npy"):
        target = float_root / "toy/train" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        array = np.load(path)
        if path.name.endswith(".actions.npy"):  # Minecraft: a 25-dim float vector per frame
            array = np.random.default_rng(0).uniform(-1, 1, (len(array), 25)).astype(np.float32)
        np.save(target, array)
    _, float_actions = LatentDataModule(root=str(float_root), env_name="toy", clip_length=4).split("train")[0]
    assert float_actions.shape == (4, 25) and float_actions.dtype == torch.float32

    module = OasisTrainModule(**TINY_SIZES, patch_size=2, in_channels=16, num_actions=25)
    conditions = module.conditions(float_actions[None])
    assert torch.equal(conditions[0, 0], torch.zeros(25)) and torch.equal(conditions[0, 1:], float_actions[:-1])
    with pytest.raises(UserError, match="the data has 24-dim float actions; the DiT takes 25"):
        module.conditions(float_actions[None, :, :24])


def test_activation_checkpointing_gives_the_same_loss_and_gradients(models, monkeypatch):
    from worldmodels.oasis import train_module

    calls = []

    def counting_checkpoint(*args, **kwargs):
        calls.append(1)
        return torch.utils.checkpoint.checkpoint(*args, **kwargs)

    monkeypatch.setattr(train_module, "checkpoint", counting_checkpoint)
    args = dict(**TINY_SIZES, patch_size=2, in_channels=16, num_actions=25, init_from=str(models[0]))
    plain, checkpointed = (OasisTrainModule(**args, activation_checkpointing=c).train() for c in (False, True))
    assert list(plain.state_dict()) == list(checkpointed.state_dict())
    generator = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(2, 4, 16, 4, 8, generator=generator), torch.randn(2, 4, 16, 4, 8, generator=generator)
    levels, actions = torch.randint(0, 1000, (2, 4), generator=generator), torch.randint(0, 25, (2, 4))
    losses, grads = [], []
    for module in (plain, checkpointed):
        loss = module.objective.loss(module.dit, x0, module.conditions(actions), levels, noise)
        loss.backward()
        losses.append(loss.detach())
        grads.append({name: p.grad for name, p in module.named_parameters() if p.grad is not None})
    assert len(calls) == 2 * TINY_DIT.depth, "each block's spatial and temporal sub-block is checkpointed once"
    torch.testing.assert_close(losses[0], losses[1], rtol=1e-6, atol=0)
    assert grads[0].keys() == grads[1].keys() and len(grads[0]) > 20
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, rtol=1e-5, atol=1e-7, msg=name)
    with torch.no_grad():  # inference runs the blocks plainly
        checkpointed.dit(x0, levels, module.conditions(actions))
    assert len(calls) == 2 * TINY_DIT.depth


def test_finetuning_the_published_layout_changes_weights_and_exports_the_published_names(
    models, latents, tmp_path, monkeypatch, capsys
):
    from challenges.oasis import export as export_cli
    from challenges.oasis import train as train_cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["oasis-train"])
    overrides = [f"--model.{k}={v}" for k, v in zip(TINY_ARGS[::2], TINY_ARGS[1::2])]
    train_cli.main(
        ["fit", "-c", str(CONFIGS / "finetune_500m.yaml"), f"--model.init_from={models[0]}", *overrides]
        + ["--trainer.accelerator=cpu", "--trainer.max_steps=2", "--trainer.val_check_interval=2"]
        + ["--trainer.limit_val_batches=1", "--trainer.log_every_n_steps=1"]
        + [f"--data.root={latents}", "--data.env_name=toy", "--data.clip_length=4", "--data.num_workers=0"]
    )
    checkpoint = tmp_path / "data/log/oasis/version_0/checkpoints/last.ckpt"
    saved = torch.load(checkpoint, weights_only=True)
    assert saved["global_step"] == 2 and saved["hyper_parameters"]["activation_checkpointing"] is True
    capsys.readouterr()
    export_cli.main([str(checkpoint), str(tmp_path / "finetuned.safetensors")])
    assert "oasis-play --dit" in capsys.readouterr().out

    with safe_open(models[0], "pt") as published, safe_open(tmp_path / "finetuned.safetensors", "pt") as exported:
        assert list(exported.keys()) == list(published.keys())  # the DiT's own names, no "dit." prefix
        changes = []
        for name in published.keys():
            before, after = published.get_tensor(name), exported.get_tensor(name)
            assert after.shape == before.shape and after.dtype == torch.float32, name
            torch.testing.assert_close(after, saved["state_dict"][f"dit.{name}"].float(), rtol=0, atol=0)
            changes.append((after - before).abs().max().item())
    # two steps at lr 1e-5 (warming up): every trained tensor moved, a little, from the published weights
    assert sum(c > 0 for c in changes) > 20 and max(changes) < 1e-4, changes
    dit = load_dit(tmp_path / "finetuned.safetensors")
    assert dataclasses.asdict(dit.cfg) == dataclasses.asdict(TINY_DIT)
    export_cli.main([str(checkpoint), str(tmp_path / "bf16.safetensors"), "--dtype", "bfloat16"])
    with safe_open(tmp_path / "bf16.safetensors", "pt") as half:  # RoPE frequencies stay exact
        assert half.get_tensor("x_embedder.proj.weight").dtype == torch.bfloat16
        assert half.get_tensor("blocks.0.s_attn.rotary_emb.freqs").dtype == torch.float32
    load_dit(tmp_path / "bf16.safetensors")


def one_line_error(capsys, run, *args) -> str:
    """The one line ``run(*args)`` (a CLI call) prints before exiting with status 2."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        run(*args)
    lines = capsys.readouterr().err.strip().splitlines()
    assert exited.value.code == 2 and len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_bad_inputs_are_one_line(models, tmp_path, capsys):
    error = functools.partial(one_line_error, capsys, encode)
    assert "no episode files (episode_*.npz) in train, val, test" in error(tmp_path, tmp_path / "out", models[1])
    assert "not an Oasis ViT-VAE checkpoint" in error(tmp_path, tmp_path / "out", models[0])  # the DiT's file
    square = write_episodes(tmp_path / "square", {"train": [2]}, size=(16, 16))
    assert "frames of 16x16 (aspect 1.00) cannot be resized" in error(square, tmp_path / "out", models[1])
    assert not (tmp_path / "out").exists(), "a refused run wrote something"
    with pytest.raises(UserError, match="toy.train: not found; create it with oasis-encode"):
        LatentDataModule(root=str(tmp_path), env_name="toy").setup("fit")
    with pytest.raises(UserError, match=r"its DiT has patch_size 2 \(the config says 4\), in_channels 16"):
        OasisTrainModule(init_from=str(models[0]))


def oasis_rows(length: int, seed: int) -> torch.Tensor:
    """Random Oasis action rows: buttons 0/1, the two camera columns in [-1, 1]."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, 2, (length, 25)).astype(np.float32)
    rows[:, [PITCH, YAW]] = rng.uniform(-1, 1, (length, 2))
    return torch.from_numpy(rows)


def write_clip(folder: Path, name: str, length: int, seed: int = 0, size=FRAME, rows: int | None = None) -> Path:
    """A tiny MP4 of random frames and its ``.one_hot_actions.pt`` of ``rows`` rows (default: one per frame)."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = np.random.default_rng(seed).integers(0, 256, (length, *size, 3), dtype=np.uint8)
    torch.save(oasis_rows(length if rows is None else rows, seed), folder / f"{name}.one_hot_actions.pt")
    return write_video(folder / f"{name}.mp4", frames)


def encode_clips(videos: Path, out: Path, vae: Path, *extra: str) -> None:
    from challenges.oasis import encode as encode_cli

    encode_cli.main(["--videos", str(videos), "--env_name", "toy", "--out", str(out), "--vae", str(vae), *extra])


def test_oasis_encode_videos_stores_the_samplers_latents_and_the_float_actions(models, tmp_path, capsys):
    clips = [write_clip(tmp_path / "src", "a", 5, seed=1), write_clip(tmp_path / "src", "b", 3, seed=2)]
    clips.append(write_clip(tmp_path / "src/more", "c", 4, seed=3))  # subfolders count; sorted paths: a, b, more/c
    out = tmp_path / "latents"
    encode_clips(tmp_path / "src", out, models[1], "--val", "0.3", "--batch_size", "2", "--quiet")
    printed = capsys.readouterr().out
    assert "train: encoded 2 videos, 0 already there" in printed and "val: encoded 1 videos" in printed
    assert not (out / "toy/test").exists()

    vae = load_vae(models[1])
    for clip, (split, n) in zip(clips, [("train", 0), ("train", 1), ("val", 0)]):
        decoded = resize(read_video(clip), [32, 64], antialias=True)  # what the MP4 holds, not what was written
        expected = OasisSampler(load_dit(models[0]), vae).encode(decoded[None])[0]
        stored = np.load(out / "toy" / split / f"episode_{n:06d}.latents.npy")
        assert stored.dtype == np.float16 and stored.shape == (len(decoded), 16, 4, 8)
        torch.testing.assert_close(torch.from_numpy(stored).float(), expected, rtol=1e-3, atol=1e-3)
        actions = np.load(out / "toy" / split / f"episode_{n:06d}.actions.npy")
        rows = torch.load(clip.with_suffix(".one_hot_actions.pt"), weights_only=True).numpy()
        assert actions.dtype == np.float32 and np.array_equal(actions, rows)

    data = LatentDataModule(root=str(out), env_name="toy", clip_length=2)
    data.setup("fit")
    latents, actions = data.datasets["val"][1]  # more/c.mp4, frames 2 and 3
    assert actions.dtype == torch.float32 and torch.equal(actions, oasis_rows(4, seed=3)[2:4])
    assert latents.shape == (2, 16, 4, 8)

    done = out / "toy/train/episode_000000.latents.npy"
    before = done.stat().st_mtime_ns
    (out / "toy/val/episode_000000.latents.npy").unlink()  # as if killed before its latents were written
    encode_clips(tmp_path / "src", out, models[1], "--val", "0.3", "--quiet")
    assert "train: encoded 0 videos, 2 already there" in capsys.readouterr().out
    assert done.stat().st_mtime_ns == before, "a video already encoded was encoded again"
    assert (out / "toy/val/episode_000000.latents.npy").is_file()
    write_clip(tmp_path / "src", "a2", 2)  # would deal b.mp4 to another episode number
    message = one_line_error(capsys, encode_clips, tmp_path / "src", out, models[1], "--val", "0.3")
    assert "holds latents of other sources" in message


def test_oasis_encode_videos_reads_vpt_action_dicts(models, tmp_path, capsys):
    if not VPT_ACTIONS.is_file():
        pytest.skip(f"{VPT_ACTIONS} is not here (the shared fixtures sit beside the repository)")
    rows = load_actions(VPT_ACTIONS)[1:]  # one per recorded frame, without the zero action Oasis puts first
    stem = VPT_ACTIONS.name.removesuffix(".actions.pt")
    write_video(tmp_path / "src" / f"{stem}.mp4", np.zeros((len(rows), *FRAME, 3), np.uint8))
    shutil.copy(VPT_ACTIONS, tmp_path / "src")
    encode_clips(tmp_path / "src", tmp_path / "out", models[1], "--batch_size", "400", "--quiet")
    assert "train: encoded 1 videos" in capsys.readouterr().out  # one video: train, whatever --val says
    actions = np.load(tmp_path / "out/toy/train/episode_000000.actions.npy")
    assert actions.dtype == np.float32 and np.array_equal(actions, rows.numpy())
    assert np.load(tmp_path / "out/toy/train/episode_000000.latents.npy", mmap_mode="r").shape == (len(rows), 16, 4, 8)


def bad_clip(case: str, src: Path) -> None:
    """Beside a good video, ``case`` in the folder ``src``."""
    write_clip(src, "a_good", 2)
    if case == "no action file":
        write_clip(src, "clip", 2).with_suffix(".one_hot_actions.pt").unlink()
    elif case == "two action files":
        shutil.copy(write_clip(src, "clip", 2).with_suffix(".one_hot_actions.pt"), src / "clip.actions.pt")
    elif case == "length":
        write_clip(src, "clip", 3, rows=4)
    elif case == "width":
        write_clip(src, "clip", 2)
        torch.save(torch.zeros(2, 24), src / "clip.one_hot_actions.pt")
    elif case == "unreadable":
        write_clip(src, "clip", 2).write_bytes(b"not an mp4, just bytes")
    elif case == "square":
        write_clip(src, "clip", 2, size=(16, 16))


BAD_VIDEOS = {
    "no video": r"src: no \.mp4 video in it",
    "no action file": r"clip\.mp4: no action file beside it \(one of clip\.one_hot_actions\.pt, clip\.actions\.pt\)",
    "two action files": r"clip\.mp4: two action files for one video",
    "length": r"clip\.one_hot_actions\.pt: 4 actions for the 3 frames of clip\.mp4; one action per frame",
    "width": r"clip\.one_hot_actions\.pt: malformed action file \(expected a N x 25 tensor",
    "unreadable": r"clip\.mp4: not a readable video",
    "square": r"clip\.mp4: frames of 16x16 \(aspect 1\.00\) cannot be resized",
}
BAD_OPTIONS = {
    ("--root", "data"): r"--videos reads videos, --root episode folders: give one or the other",
    ("--splits", "train"): r"--videos reads videos, --splits episode folders",
    ("--val", "1"): r"--val 1\.0: a share of the videos, at least 0 and below 1",
    ("--val", "0.5", "--test", "0.5"): r"leave some videos for train",
}


def test_bad_videos_and_options_are_one_line_and_write_nothing(models, tmp_path, capsys):
    for case, message in BAD_VIDEOS.items():
        src, out = tmp_path / case / "src", tmp_path / case / "out"
        src.mkdir(parents=True)
        if case != "no video":
            bad_clip(case, src)
        assert re.search(message, one_line_error(capsys, encode_clips, src, out, models[1])), case
        assert not out.exists(), f"{case}: a refused run wrote something"
    write_clip(tmp_path / "src", "clip", 2)
    for options, message in BAD_OPTIONS.items():
        line = one_line_error(capsys, encode_clips, tmp_path / "src", tmp_path / "out", models[1], *options)
        assert re.search(message, line), line
    line = one_line_error(capsys, encode, tmp_path, tmp_path / "out", models[1], "--test", "0.1")
    assert "--test: only with --videos (episode folders come split already)" in line
    assert not (tmp_path / "out").exists()
