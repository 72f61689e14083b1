"""Genie's video tokenizer: shapes, causality, learning, the genie-tokenizer CLI and its checkpoints."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from challenges.genie import tokenizer as tokenizer_cli
from worldmodels.core.errors import UserError
from worldmodels.core.metrics import psnr
from worldmodels.data.episodes import Episode, EpisodeDataset
from worldmodels.genie.data import ClipDataset, GenieDataModule, to_video
from worldmodels.genie.optim import warmup_cosine
from worldmodels.genie.tokenizer import TokenizerConfig, VideoTokenizer
from worldmodels.genie.tokenizer_module import TokenizerModule, load_tokenizer

TINY_CONFIG = str(Path(__file__).parents[1] / "configs" / "tiny" / "tokenize.yaml")
TINY = TokenizerConfig(dim=32, encoder_depth=1, decoder_depth=1, heads=2, latent_dim=8, num_codes=32, max_frames=4)


def moving_square_video(num_frames: int, seed: int) -> np.ndarray:
    """uint8 t 64 64 3: a coloured square sliding over a two-tone background."""
    rng = np.random.default_rng(seed)
    frames = np.zeros((num_frames, 64, 64, 3), np.uint8)
    frames[:, 32:] = rng.integers(0, 256, 3)
    colour, (y, x), (dy, dx) = rng.integers(0, 256, 3), rng.integers(8, 40, 2), rng.integers(-2, 3, 2)
    for t in range(num_frames):
        yt, xt = np.clip([y + dy * t, x + dx * t], 0, 52)
        frames[t, yt : yt + 12, xt : xt + 12] = colour
    return frames


def write_episodes(folder: Path, count: int, length: int) -> None:
    dataset = EpisodeDataset(folder)
    for seed in range(count):
        obs = moving_square_video(length, seed)
        act = np.arange(length) % 15
        zeros = np.zeros(length)
        trunc = np.eye(1, length, length - 1)[0]
        dataset.add(Episode.from_steps(list(obs), act, zeros, zeros, trunc, obs[-1]))


@pytest.fixture(autouse=True)
def cli_argv(monkeypatch):
    """LightningCLI warns when sys.argv (pytest's own flags here) and args are both given."""
    monkeypatch.setattr(sys, "argv", ["genie-tokenizer"])


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors gain nothing from threads, and on a busy 2-core machine two OpenMP threads that wait for
    each other made the overfit test 15x slower (24 s instead of 1.7 s)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("genie")
    write_episodes(root / "coinrun" / "train", count=3, length=10)
    write_episodes(root / "coinrun" / "val", count=1, length=8)
    return root


def test_encode_decode_forward_shapes():
    torch.manual_seed(0)
    model = VideoTokenizer(TINY).eval()
    video = torch.rand(2, 3, 3, 64, 64) * 2 - 1
    tokens = model.encode(video)
    assert model.grid == (16, 16) and model.tokens_per_frame == 256
    assert tokens.shape == (2, 3, 16, 16) and tokens.dtype == torch.long
    assert 0 <= tokens.min() and tokens.max() < model.cfg.num_codes
    frames = model.decode(tokens)
    assert frames.shape == (2, 3, 3, 64, 64) and frames.abs().max() <= 1
    reconstruction, indices, vq_loss = model(video)
    assert reconstruction.shape == video.shape and vq_loss.ndim == 0
    assert torch.equal(indices, tokens)
    torch.testing.assert_close(model.decode(indices), reconstruction)


def test_tokens_of_a_frame_ignore_later_frames():
    torch.manual_seed(0)
    model = VideoTokenizer(TINY).eval()
    video = torch.rand(1, 4, 3, 64, 64) * 2 - 1
    changed = video.clone()
    changed[:, 2:] = torch.rand(1, 2, 3, 64, 64) * 2 - 1
    before, after = model.encode(video), model.encode(changed)
    assert torch.equal(before[:, :2], after[:, :2])
    assert not torch.equal(before[:, 2:], after[:, 2:])  # the change does reach the later tokens


def test_tokenizer_overfits_one_batch():
    torch.manual_seed(0)
    video = torch.stack([to_video(moving_square_video(2, seed)) for seed in (0, 1)])
    model = VideoTokenizer(TINY)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    with torch.no_grad():
        start = psnr(model(video)[0], video).item()
    for _ in range(40):
        reconstruction, _, vq_loss = model(video)
        loss = torch.nn.functional.mse_loss(reconstruction, video) + vq_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        end = psnr(model.eval()(video)[0], video).item()
    # Measured: 6.8 dB at the start, 22.4 dB after 40 steps (torch 2.14, CPU).
    assert start < 10 and end > 18, (start, end)


def test_learning_rate_warms_up_then_decays_to_the_floor():
    factors = [warmup_cosine(step, warmup_steps=10, total_steps=110, min_ratio=0.1) for step in range(111)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == factors[10] == 1.0
    assert factors[60] == pytest.approx(0.55) and factors[110] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(factors[10:], factors[11:]))


def test_clips_are_windows_of_the_episodes(data_root):
    folder = data_root / "coinrun" / "train"
    val = ClipDataset(folder, clip_length=4, random_offsets=False)
    assert len(val) == 3 * (10 // 4)
    video, actions = val[1]
    episode = EpisodeDataset(folder)[0]
    assert video.shape == (4, 3, 64, 64) and video.dtype == torch.float32
    torch.testing.assert_close(video, torch.from_numpy(episode.obs[4:8]).permute(0, 3, 1, 2) / 127.5 - 1)
    assert actions.tolist() == episode.act[4:8].tolist()
    assert torch.equal(val[1][0], video), "validation windows must not move"
    torch.manual_seed(0)
    train = ClipDataset(folder, clip_length=4, random_offsets=True)
    starts = {int(train[1][1][0]) for _ in range(30)}  # actions count 0, 1, 2, ... so they reveal the start
    assert starts == {4, 5, 6}, starts  # random offsets, always inside the 10-frame episode


def test_training_clips_never_cross_an_episode_end(tmp_path):
    """A clip over a reset would teach the dynamics model (and the LAM) a jump no action causes (Jafar's bug)."""
    dataset = EpisodeDataset(tmp_path)
    for shade, length in enumerate((5, 7, 9, 4)):
        obs = np.full((length, 64, 64, 3), 40 * shade, np.uint8)
        zeros = np.zeros(length)
        dataset.add(Episode.from_steps(list(obs), np.arange(length), zeros, zeros, zeros, obs[0]))
    clips = ClipDataset(tmp_path, clip_length=4, random_offsets=True)
    torch.manual_seed(0)
    for _ in range(20):
        for i in range(len(clips)):
            video, actions = clips[i]
            assert (video == video[0, 0, 0, 0]).all(), "a clip mixes frames of two episodes"
            assert actions.tolist() == list(range(actions[0], actions[0] + 4)), "a clip is not one window"


def test_cli_fit_writes_a_checkpoint_load_tokenizer_reads(data_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["fit", "-c", TINY_CONFIG, "--data.root", str(data_root), "--data.env_name", "CoinRun"]
    tokenizer_cli.main([*args, "--trainer.max_steps", "4", "--trainer.val_check_interval", "2"])
    folder = tmp_path / "data" / "log" / "tokenizer" / "version_0" / "checkpoints"
    last, best = folder / "last.ckpt", folder / "best.ckpt"
    assert torch.load(last, weights_only=True)["global_step"] == 4, "last.ckpt must hold the final state"
    assert torch.load(best, weights_only=True)["global_step"] in (2, 4)
    metrics = (tmp_path / "data" / "log" / "tokenizer" / "version_0" / "metrics.csv").read_text()
    assert "val/psnr" in metrics and "val/codebook_usage" in metrics
    model = load_tokenizer(last)
    assert not model.training and model.cfg.num_codes == 64 and model.cfg.dim == 48
    module = TokenizerModule.load_from_checkpoint(last)
    for name, tensor in module.tokenizer.state_dict().items():
        assert torch.equal(tensor, model.state_dict()[name]), name
    video = ClipDataset(data_root / "coinrun" / "val", 4, random_offsets=False)[0][0][None]
    assert model.encode(video).shape == (1, 4, 16, 16)


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_cli_fit_without_data_exits_2_naming_the_folder(make, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    if make == "empty":
        (tmp_path / "coinrun" / "train").mkdir(parents=True)
    with pytest.raises(SystemExit) as exit_info:
        tokenizer_cli.main(["fit", "-c", TINY_CONFIG, "--data.root", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    err = err.strip().splitlines()[-1]
    assert err.startswith(f"error: {tmp_path / 'coinrun' / 'train'}:"), err
    assert "genie-sample" in err and "genie-split" in err


def test_datamodule_reads_the_env_name_in_any_case(data_root):
    datamodule = GenieDataModule(root=str(data_root), env_name=" CoinRun ", clip_length=4, batch_size=2)
    datamodule.setup("fit")
    video, actions = next(iter(datamodule.val_dataloader()))
    assert video.shape == (2, 4, 3, 64, 64) and actions.shape == (2, 4)


def test_load_tokenizer_rejects_wrong_files(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_tokenizer(tmp_path / "missing.ckpt")
    (tmp_path / "random.ckpt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(UserError, match="not a readable checkpoint"):
        load_tokenizer(tmp_path / "random.ckpt")
    torch.save({"state_dict": {"layer.weight": torch.zeros(2)}, "hyper_parameters": {}}, tmp_path / "other.ckpt")
    with pytest.raises(UserError, match="not a genie-tokenizer checkpoint"):
        load_tokenizer(tmp_path / "other.ckpt")
