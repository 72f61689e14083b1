"""episodes-import: MP4 videos plus per-frame actions become episode files that training reads."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from worldmodels.core.errors import UserError
from worldmodels.core.video import write_video
from worldmodels.data.episodes import Episode, EpisodeDataset
from worldmodels.data.video_import import import_videos
from worldmodels.diamond.recorded import import_recorded

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "oasis"
needs_fixtures = pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/fixtures/oasis is not beside the repo")
SCRIPT = Path(sys.executable).parent / "episodes-import"
FRAMES = 12


def moving_square(num_frames: int = FRAMES) -> np.ndarray:
    """48 x 64 frames with a white 16 x 16 square moving 4 pixels right per frame."""
    frames = np.zeros((num_frames, 48, 64, 3), np.uint8)
    for t in range(num_frames):
        frames[t, 10:26, 4 * t : 4 * t + 16] = 255
    return frames


@pytest.fixture(scope="module")
def mp4(tmp_path_factory) -> Path:
    """One encoded clip, copied into each test's folder (encoding is the slow part)."""
    return write_video(tmp_path_factory.mktemp("video") / "clip.mp4", moving_square())


def clip(folder: Path, mp4: Path, name: str = "clip") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(mp4, folder / f"{name}.mp4"))


def assert_nothing_written(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    assert not dest.exists() or not any(dest.iterdir())
    assert not list(tmp_path.glob(".dest.tmp*")), "the staging folder was left behind"


def test_npy_actions_and_rewards(tmp_path, mp4):
    clip(tmp_path / "src", mp4)
    actions = np.arange(FRAMES) % 4
    rewards = np.linspace(-1, 1, FRAMES)
    np.save(tmp_path / "src" / "clip.actions.npy", actions)
    np.save(tmp_path / "src" / "clip.rewards.npy", rewards)
    assert import_videos(tmp_path / "src", tmp_path / "dest", 32, 4) == (1, FRAMES)

    (path,) = EpisodeDataset(tmp_path / "dest").paths
    assert Episode.check(path) == FRAMES
    episode = Episode.load(path)
    assert episode.obs.shape == (FRAMES, 32, 32, 3) and episode.obs.dtype == np.uint8
    expected = np.stack([cv2.resize(f, (32, 32), interpolation=cv2.INTER_AREA) for f in moving_square()])
    assert np.abs(episode.obs.astype(int) - expected).mean() < 8  # MP4 is lossy: the same picture, roughly
    for t, frame in enumerate(episode.obs):
        columns = np.nonzero(frame.mean(axis=2).max(axis=0) > 128)[0]
        assert abs(columns.mean() - (4 * t + 8) / 2 + 0.5) <= 1, f"frame {t}: the square is not where it was"
    np.testing.assert_array_equal(episode.act, actions)
    np.testing.assert_allclose(episode.rew, rewards.astype(np.float32))
    assert not episode.end.any() and episode.trunc.tolist() == [0] * (FRAMES - 1) + [1]  # cut, not over
    np.testing.assert_array_equal(episode.final_obs, episode.obs[-1])


@pytest.mark.parametrize(
    "name, data",
    [
        ("clip.actions.pt", torch.arange(FRAMES) % 3),
        ("clip.one_hot_actions.pt", torch.eye(3)[torch.arange(FRAMES) % 3]),
        ("clip.one_hot_actions.pt", torch.eye(3, dtype=torch.int64)[torch.arange(FRAMES) % 3]),
    ],
    ids=["index-tensor", "one-hot-float", "one-hot-int"],
)
def test_torch_action_files(tmp_path, mp4, name, data):
    clip(tmp_path / "src", mp4)
    torch.save(data, tmp_path / "src" / name)
    import_videos(tmp_path / "src", tmp_path / "dest", 16, 3)
    episode = EpisodeDataset(tmp_path / "dest")[0]
    assert episode.obs.shape == (FRAMES, 16, 16, 3)
    assert episode.act.tolist() == [t % 3 for t in range(FRAMES)]
    assert not episode.rew.any()  # no rewards file: zeros


def test_a_folder_of_videos_trains_diamond(tmp_path, mp4):
    clip(tmp_path / "src", mp4, "a")
    clip(tmp_path / "src" / "more", mp4, "b")  # subfolders count too
    np.save(tmp_path / "src" / "a.actions.npy", np.zeros(FRAMES, np.int64))
    np.save(tmp_path / "src" / "more" / "b.actions.npy", np.full(FRAMES, 3))
    assert import_videos(tmp_path / "src", tmp_path / "dest", 64, 4) == (2, 2 * FRAMES)
    dataset = EpisodeDataset(tmp_path / "dest")
    assert len(dataset) == 2 and dataset[1].act.tolist() == [3] * FRAMES

    run = EpisodeDataset(tmp_path / "run")
    assert import_recorded(tmp_path / "dest", run, (64, 64, 3), 4) == 2 * FRAMES
    assert run.num_steps == 2 * FRAMES

    import_videos(tmp_path / "src", tmp_path / "dest", 64, 4)  # again: added after the first two
    assert [p.name for p in dataset.paths][-1] == "episode_000003.npz"


def _vpt_like(path: Path) -> None:
    """A list of per-step dicts with numpy values, as the Minecraft/VPT ``.actions.pt`` files are."""
    torch.save([{"forward": 1, "camera": np.array([0.0, 1.5])} for _ in range(FRAMES)], path)


def _bad_npy_header(path: Path) -> None:
    np.save(path, np.zeros(FRAMES, np.int64))
    path.write_bytes(path.read_bytes()[:-40])  # the header still says 12 values


def _one_hot(rows: dict[int, list[float]], width: int = 4) -> torch.Tensor:
    table = torch.eye(width)[torch.zeros(FRAMES, dtype=torch.long)]
    for row, values in rows.items():
        table[row] = torch.tensor(values)
    return table


BAD = {
    "empty folder": (None, None, "no .mp4 video"),
    "no action file": ("none", None, r"clip\.mp4: no action file beside it"),
    "two action files": ("two", None, r"clip\.mp4: two action files for one video"),
    "garbage mp4": ("garbage", np.zeros(FRAMES, np.int64), r"clip\.mp4: not a readable video"),
    "truncated mp4": ("truncated", np.zeros(FRAMES, np.int64), r"clip\.mp4: not a readable video"),
    "fewer actions": ("clip.actions.npy", np.zeros(10, np.int64), r"clip\.mp4: 12 frames but 10 actions"),
    "more actions": ("clip.actions.npy", np.zeros(14, np.int64), r"clip\.mp4: 12 frames but 14 actions"),
    "float npy": ("clip.actions.npy", np.zeros(FRAMES), r"clip\.actions\.npy: actions must be integers, got float64"),
    "2-D npy": ("clip.actions.npy", np.zeros((FRAMES, 2), np.int64), r"clip\.actions\.npy: expected a 1-D array"),
    "damaged npy": ("clip.actions.npy", _bad_npy_header, r"clip\.actions\.npy: damaged \.npy file"),
    "float pt": ("clip.actions.pt", torch.zeros(FRAMES), r"clip\.actions\.pt: actions must be integers"),
    "out of range": ("clip.actions.npy", np.array([0, 1, 7] + [0] * 9), r"action 7 at frame 2 is outside 0\.\.3"),
    "negative": ("clip.actions.pt", torch.tensor([0] * 5 + [-1] * 7), r"action -1 at frame 5 is outside 0\.\.3"),
    "one-hot width": ("clip.one_hot_actions.pt", torch.eye(5)[[0] * FRAMES], r"rows are 5 wide, the game has 4"),
    "two ones": (
        "clip.one_hot_actions.pt",
        _one_hot({3: [1, 1, 0, 0]}),
        r"row 3 is not one-hot \(nonzero values 1, 1\)",
    ),
    "all zeros": ("clip.one_hot_actions.pt", _one_hot({2: [0, 0, 0, 0]}), r"row 2 is not one-hot \(all zeros"),
    "fraction": ("clip.one_hot_actions.pt", _one_hot({4: [0.5, 0.5, 0, 0]}), r"row 4 is not one-hot"),
    "VPT dicts": ("clip.actions.pt", _vpt_like, r"clip\.actions\.pt: a list of per-step dicts \(the Minecraft"),
    "plain dicts": ("clip.actions.pt", [{"forward": 1}] * FRAMES, r"per-step dicts \(the Minecraft/VPT action"),
    "rewards length": ("rewards", np.zeros(FRAMES - 1), r"clip\.rewards\.npy: 11 rewards for 12 frames"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, mp4, case):
    kind, data, message = BAD[case]
    src = tmp_path / "src"
    src.mkdir()
    if kind is not None:
        clip(src, mp4, "a_good")  # a good video first: it must not reach dest either
        np.save(src / "a_good.actions.npy", np.zeros(FRAMES, np.int64))
        video = clip(src, mp4)
        if kind == "two":
            np.save(src / "clip.actions.npy", np.zeros(FRAMES, np.int64))
            torch.save(torch.zeros(FRAMES, dtype=torch.long), src / "clip.actions.pt")
        elif kind in ("garbage", "truncated"):
            video.write_bytes(os.urandom(2000) if kind == "garbage" else video.read_bytes()[:600])
            np.save(src / "clip.actions.npy", data)
        elif kind == "rewards":
            np.save(src / "clip.actions.npy", np.zeros(FRAMES, np.int64))
            np.save(src / "clip.rewards.npy", data)
        elif kind != "none":
            if callable(data):
                data(src / kind)
            elif kind.endswith(".npy"):
                np.save(src / kind, data)
            else:
                torch.save(data, src / kind)
    with pytest.raises(UserError, match=message) as caught:
        import_videos(src, tmp_path / "dest", 32, 4)
    assert "\n" not in str(caught.value)
    assert_nothing_written(tmp_path)


def test_negative_actions_are_refused_without_num_actions(tmp_path, mp4):
    clip(tmp_path / "src", mp4)
    np.save(tmp_path / "src" / "clip.actions.npy", np.array([-3] + [0] * (FRAMES - 1)))
    with pytest.raises(UserError, match=r"action -3 at frame 0 is outside 0 or more"):
        import_videos(tmp_path / "src", tmp_path / "dest", 32, None)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli(tmp_path, mp4):
    clip(tmp_path / "src", mp4)
    bad = run_cli(str(tmp_path / "src"), str(tmp_path / "dest"))  # no action file yet
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("error: ") and "no action file" in bad.stderr
    assert_nothing_written(tmp_path)

    np.save(tmp_path / "src" / "clip.actions.npy", np.arange(FRAMES) % 2)
    good = run_cli(str(tmp_path / "src"), str(tmp_path / "dest"), "--size", "64", "--num_actions", "2")
    assert good.returncode == 0, good.stderr
    lines = good.stdout.strip().splitlines()
    assert lines == [
        f"{tmp_path / 'src' / 'clip.mp4'}: {FRAMES} frames",
        f"wrote 1 episodes ({FRAMES} frames) to {tmp_path / 'dest'}",
    ]
    assert Episode.check(EpisodeDataset(tmp_path / "dest").paths[0]) == FRAMES


# What the published Oasis action files are, read from the fixtures: 25 columns of buttons plus two camera
# columns with continuous values, several keys at once, and idle steps of all zeros: not one action per row.
FIXTURE_VERDICT = {
    "sample_actions_0.one_hot_actions.pt": r"row 0 is not one-hot \(nonzero values 0\.025\)",
    "treechop-f153ac423f61-20210916-183423.chunk_000.one_hot_actions.pt": r"row 1 is not one-hot \(all zeros",
}


@needs_fixtures
@pytest.mark.parametrize("name", FIXTURE_VERDICT)
def test_published_oasis_one_hot_files_are_not_discrete_actions(tmp_path, mp4, name):
    clip(tmp_path / "src", mp4)
    rows = torch.load(FIXTURES / name, weights_only=True)[:FRAMES].clone()
    torch.save(rows, tmp_path / "src" / "clip.one_hot_actions.pt")
    with pytest.raises(UserError, match=FIXTURE_VERDICT[name]):
        import_videos(tmp_path / "src", tmp_path / "dest", 64, 25)
    assert_nothing_written(tmp_path)


@needs_fixtures
def test_published_vpt_action_dicts_ask_for_conversion(tmp_path, mp4):
    clip(tmp_path / "src", mp4)
    shutil.copy(
        FIXTURES / "treechop-f153ac423f61-20210916-183423.chunk_000.actions.pt", tmp_path / "src" / "clip.actions.pt"
    )
    with pytest.raises(UserError, match=r"clip\.actions\.pt: a list of per-step dicts \(the Minecraft/VPT"):
        import_videos(tmp_path / "src", tmp_path / "dest", 64, 25)
