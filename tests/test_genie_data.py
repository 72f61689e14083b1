"""genie-sample and genie-split: procgen episodes on disk, reproducible, split deterministically."""

import hashlib

import numpy as np
import pytest

pytest.importorskip("procgen", reason="procgen (procgen-mirror on Python 3.11+) is not installed")

from challenges.genie import sample, split  # noqa: E402
from worldmodels.core.errors import UserError  # noqa: E402
from worldmodels.core.video import read_frames  # noqa: E402
from worldmodels.data.episodes import Episode, EpisodeDataset  # noqa: E402
from worldmodels.envs.procgen import GAMES, NUM_ACTIONS, resolve_game, rollout, sample_actions  # noqa: E402
from worldmodels.genie.data import GenieDataModule  # noqa: E402

SAMPLE_ARGS = ["--env_name", "CoinRun", "--num_envs", "2", "--timeout", "30", "--num_episodes", "3", "--seed", "3"]


@pytest.fixture(scope="module")
def sampled(tmp_path_factory):
    """One small sample run with previews, shared by the tests that only read it."""
    root = tmp_path_factory.mktemp("sample")
    sample.main([*SAMPLE_ARGS, "--root", str(root), "--preview"])
    return root


def load_all(folder) -> list[Episode]:
    dataset = EpisodeDataset(folder)
    return [dataset[i] for i in range(len(dataset))]


def expect_error(capsys, main, argv, *words) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    for word in words:
        assert word in err, err
    return err


@pytest.mark.parametrize("name", ["coinrun", "CoinRun", "Coinrun", " COINRUN "])
def test_game_names_are_case_insensitive(name):
    assert resolve_game(name) == "coinrun"


def test_every_procgen_game_resolves():
    import procgen.env

    assert GAMES == tuple(procgen.env.ENV_NAMES)
    assert [resolve_game(g.upper()) for g in GAMES] == list(GAMES)


def test_unknown_game_lists_the_valid_names():
    with pytest.raises(UserError, match="not a procgen game.*bigfish.*starpilot"):
        resolve_game("Pong")


def test_sample_writes_the_promised_files(sampled, capsys):
    source = sampled / "coinrun" / "source"
    assert sorted(p.name for p in source.iterdir()) == [f"episode_{i:06d}.npz" for i in range(3)] + ["sample.json"]
    for episode in load_all(source):
        t = len(episode)
        assert 1 <= t <= 30
        assert episode.obs.shape == (t, 64, 64, 3) and episode.obs.dtype == np.uint8
        assert episode.final_obs.shape == (64, 64, 3) and episode.final_obs.dtype == np.uint8
        assert episode.act.dtype == np.int64 and episode.act.min() >= 0 and episode.act.max() < NUM_ACTIONS
        assert episode.rew.shape == (t,) and episode.rew.dtype == np.float32
        assert (episode.obs != episode.obs[:1]).any(), "every frame of the episode is the same"
        # exactly one of end / trunc marks the last step, nothing before it
        assert episode.end[:-1].sum() == episode.trunc[:-1].sum() == 0
        assert episode.end[-1] + episode.trunc[-1] == 1
        assert episode.trunc[-1] == (t == 30)


def test_preview_videos_match_the_episodes(sampled):
    for i, episode in enumerate(load_all(sampled / "coinrun" / "source")):
        frames = read_frames(sampled / "coinrun" / "preview" / f"episode_{i:06d}.mp4")
        assert frames.shape == (len(episode), 3, 64, 64)
        # H.264 is lossy, but a preview must still look like its episode
        error = np.abs(frames.permute(0, 2, 3, 1).numpy().astype(int) - episode.obs.astype(int)).mean()
        assert error < 8


def test_same_seed_gives_identical_episodes(sampled, tmp_path, capsys):
    sample.main([*SAMPLE_ARGS, "--root", str(tmp_path / "same")])
    out = capsys.readouterr().out
    assert "wrote 3 episodes" in out and str(tmp_path / "same" / "coinrun" / "source") in out
    first, again = load_all(sampled / "coinrun" / "source"), load_all(tmp_path / "same" / "coinrun" / "source")
    assert len(first) == len(again) == 3
    for a, b in zip(first, again):
        for field in ("obs", "act", "rew", "end", "trunc", "final_obs"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    sample.main([*SAMPLE_ARGS[:-1], "4", "--root", str(tmp_path / "other")])
    other = load_all(tmp_path / "other" / "coinrun" / "source")
    assert any(not np.array_equal(a.act, b.act) for a, b in zip(first, other))


def test_sample_refuses_to_mix_runs_unless_appending(sampled, tmp_path, capsys):
    root = tmp_path / "data"
    sample.main([*SAMPLE_ARGS, "--root", str(root), "--num_episodes", "1"])
    expect_error(capsys, sample.main, [*SAMPLE_ARGS, "--root", str(root)], "already holds 1 episodes", "--append")
    sample.main([*SAMPLE_ARGS[:-1], "5", "--root", str(root), "--num_episodes", "2", "--append"])
    assert [p.name for p in EpisodeDataset(root / "coinrun" / "source").paths] == [
        f"episode_{i:06d}.npz" for i in range(3)
    ]


def test_every_episode_starts_at_a_level_start():
    """With one level, every episode (also after a cut, which forces a reset) opens on the same frame."""
    episodes = list(rollout("coinrun", num_envs=2, num_episodes=5, timeout=12, num_levels=1, start_level=7))
    assert len(episodes) == 5
    assert all(len(e) == 12 and e.trunc[-1] for e in episodes)
    for episode in episodes:
        np.testing.assert_array_equal(episode.obs[0], episodes[0].obs[0])


def test_a_cut_keeps_the_true_next_frame():
    cut, longer = (next(rollout("coinrun", 1, 1, timeout, seed=5)) for timeout in (12, 13))
    assert len(cut) == 12 and len(longer) == 13 and cut.trunc[-1] and not cut.end[-1]
    np.testing.assert_array_equal(cut.obs, longer.obs[:12])
    np.testing.assert_array_equal(cut.final_obs, longer.obs[12])


def test_game_ends_and_procgen_time_limits_are_told_apart():
    """CoinRun ends an episode itself after 1000 steps: that is a time limit (trunc), anything sooner an end."""
    episodes = list(rollout("coinrun", num_envs=4, num_episodes=6, timeout=2000, seed=1))
    lengths = [len(e) for e in episodes]
    assert 1000 in lengths and min(lengths) < 1000, lengths
    for episode in episodes:
        assert episode.trunc[-1] == (len(episode) == 1000) and episode.end[-1] != episode.trunc[-1]
        np.testing.assert_array_equal(episode.final_obs, episode.obs[-1])  # procgen shows no frame after an end


def test_sticky_actions_repeat_three_times_in_four():
    rng = np.random.default_rng(0)
    previous, first = np.zeros(100_000, np.int64), np.zeros(100_000, bool)
    sticky = sample_actions("sticky", rng, previous, first)
    assert 0.75 < (sticky == previous).mean() < 0.79  # 0.75 kept + 0.25 / 15 drawn again by chance
    assert (sample_actions("sticky", rng, previous, ~first) == previous).mean() < 0.1  # new episode: fresh
    assert (sample_actions("random", rng, previous, first) == previous).mean() < 0.1
    assert set(np.unique(sticky)) == set(range(NUM_ACTIONS))


@pytest.mark.parametrize(
    "argv, words", [(["--env_name", "Pong"], ["Pong", "coinrun"]), (["--num_envs", "0"], ["--num_envs"])]
)
def test_sample_rejects_bad_flags(tmp_path, capsys, argv, words):
    expect_error(capsys, sample.main, [*argv, "--root", str(tmp_path)], *words)
    assert not any(tmp_path.iterdir())


def fake_source(root, n: int) -> list[bytes]:
    """``n`` tiny distinct episodes in ``root/coinrun/source``; returns each file's bytes."""
    dataset = EpisodeDataset(root / "coinrun" / "source")
    for i in range(n):
        obs = np.full((2, 4, 4, 3), i, np.uint8)
        dataset.add(Episode.from_steps(list(obs), [i, 0], [0.0, 1.0], [0, 1], [0, 0], obs[-1]))
    return [p.read_bytes() for p in dataset.paths]


def split_contents(root) -> dict[str, list[str]]:
    folder = root / "coinrun"
    return {
        s: [hashlib.sha1(p.read_bytes()).hexdigest() for p in EpisodeDataset(folder / s).paths] for s in split.SPLITS
    }


def test_another_games_episodes_split_and_load_from_the_folder_of_its_name(tmp_path, capsys):
    """Atari episodes (a DIAMOND dataset, recordings) put in <root>/breakout/source train like procgen's."""
    fake_source(tmp_path, 10)
    (tmp_path / "coinrun").rename(tmp_path / "breakout")
    split.main(["--env_name", "breakout", "--root", str(tmp_path), "--ratios", "0.8", "0.2", "0"])
    assert "train 8, val 2, test 0" in capsys.readouterr().out
    data = GenieDataModule(str(tmp_path), "breakout", clip_length=2)
    video, actions = data.split("val")[0]
    assert video.shape == (2, 3, 4, 4) and actions.shape == (2,)
    with pytest.raises(UserError, match="breakout/test: has no episode files.*episode files in .*breakout/source"):
        data.split("test")


def test_split_partitions_all_episodes_deterministically(tmp_path, capsys):
    source = [hashlib.sha1(b).hexdigest() for b in fake_source(tmp_path, 20)]
    split.main(["--env_name", "coinrun", "--root", str(tmp_path), "--seed", "1"])
    assert "train 16, val 2, test 2" in capsys.readouterr().out
    parts = split_contents(tmp_path)
    assert [len(parts[s]) for s in split.SPLITS] == [16, 2, 2]
    assert sorted(sum(parts.values(), [])) == sorted(source)  # every episode exactly once
    for s in split.SPLITS:
        names = [p.name for p in EpisodeDataset(tmp_path / "coinrun" / s).paths]
        assert names == [f"episode_{i:06d}.npz" for i in range(len(names))]
    split.main(["--env_name", "CoinRun", "--root", str(tmp_path), "--seed", "1"])
    assert split_contents(tmp_path) == parts
    split.main(["--env_name", "coinrun", "--root", str(tmp_path), "--seed", "2"])
    assert split_contents(tmp_path) != parts
    assert sorted(p.name for p in (tmp_path / "coinrun").iterdir()) == ["source", "test", "train", "val"]


def test_split_follows_the_ratios(tmp_path, capsys):
    fake_source(tmp_path, 10)
    split.main(["--root", str(tmp_path), "--ratios", "0.5", "0.5", "0"])
    assert [len(v) for v in split_contents(tmp_path).values()] == [5, 5, 0]


@pytest.mark.parametrize(
    "n, ratios, counts",
    [
        (10, (0.8, 0.1, 0.1), [8, 1, 1]),
        (10_000, (0.8, 0.1, 0.1), [8000, 1000, 1000]),
        (7, (1 / 3, 1 / 3, 1 / 3), [3, 2, 2]),
        (3, (0.98, 0.01, 0.01), [1, 1, 1]),
        (4, (1.0, 0.0, 0.0), [4, 0, 0]),
    ],
)
def test_split_counts(n, ratios, counts):
    assert split.split_counts(n, ratios) == counts


def test_split_rejects_bad_input(tmp_path, capsys):
    root = ["--root", str(tmp_path)]
    expect_error(capsys, split.main, root, "coinrun/source", "not found", "genie-sample")
    (tmp_path / "coinrun" / "source").mkdir(parents=True)
    expect_error(capsys, split.main, root, "coinrun/source", "no episode files")
    fake_source(tmp_path, 2)
    expect_error(capsys, split.main, root, "2 episodes", "3 non-empty splits")
    expect_error(capsys, split.main, [*root, "--ratios", "0.8", "0.1", "0.05"], "--ratios", "sum to 1")
    expect_error(capsys, split.main, [*root, "--ratios", "1.2", "-0.1", "-0.1"], "--ratios", "non-negative")
    expect_error(capsys, split.main, [*root, "--env_name", "Pong"], "Pong/source", "not found", "put episode files")
    expect_error(capsys, split.main, [*root, "--env_name", "../x"], "'../x'", "one folder name")
    assert sorted(p.name for p in (tmp_path / "coinrun").iterdir()) == ["source"]


def truncated(path):
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def short_actions(path):
    with np.load(path) as data:
        fields = dict(data)
    np.savez_compressed(path, **(fields | {"act": fields["act"][:1]}))


def float_frames(path):
    with np.load(path) as data:
        fields = dict(data)
    np.savez_compressed(path, **(fields | {"obs": fields["obs"].astype(np.float32)}))


def no_rewards(path):
    with np.load(path) as data:
        fields = {k: v for k, v in data.items() if k != "rew"}
    np.savez_compressed(path, **fields)


@pytest.mark.parametrize(
    "damage, words",
    [
        (truncated, ["not a readable episode file"]),
        (lambda p: p.write_text("hello"), ["not a readable episode file"]),
        (short_actions, ["act has shape (1,), expected (2,)"]),
        (float_frames, ["obs must be T x H x W x 3 uint8"]),
        (no_rewards, ["not an episode file (no rew array)"]),
    ],
)
def test_split_names_a_damaged_episode_and_writes_no_split(tmp_path, capsys, damage, words):
    fake_source(tmp_path, 10)
    bad = EpisodeDataset(tmp_path / "coinrun" / "source").paths[6]
    damage(bad)
    expect_error(capsys, split.main, ["--root", str(tmp_path)], str(bad), *words)
    assert sorted(p.name for p in (tmp_path / "coinrun").iterdir()) == ["source"]


def test_episode_check_reads_the_length_from_the_headers(tmp_path):
    fake_source(tmp_path, 1)
    path = EpisodeDataset(tmp_path / "coinrun" / "source").paths[0]
    assert Episode.check(path) == len(Episode.load(path)) == 2


def test_an_interrupted_sample_run_continues_where_it_stopped(sampled, tmp_path, capsys):
    """A run killed after its first episode (its next file half-written under a temporary name by a process
    that is gone) is continued by the same command: the same files as an uninterrupted run, no leftovers."""
    import shutil

    root = tmp_path / "data"
    shutil.copytree(sampled, root)
    source, preview = root / "coinrun" / "source", root / "coinrun" / "preview"
    for name in ("episode_000001", "episode_000002"):
        (source / f"{name}.npz").unlink()
        (preview / f"{name}.mp4").unlink()
    dead = 2**22 + 12345  # above Linux's default pid_max: no process has this number
    (source / f".episode_000001.tmp{dead}-abcd.npz").write_bytes(b"half an episode")
    (preview / f".episode_000001.tmp{dead}-efgh.mp4").write_bytes(b"half a video")
    sample.main([*SAMPLE_ARGS, "--root", str(root), "--preview"])
    assert "continuing a run that had 1" in capsys.readouterr().out
    for folder in ("source", "preview"):
        ours = sorted(p.name for p in (root / "coinrun" / folder).iterdir())
        theirs = sorted(p.name for p in (sampled / "coinrun" / folder).iterdir())
        assert ours == theirs
    for p in (sampled / "coinrun" / "source").glob("episode_*.npz"):
        assert (source / p.name).read_bytes() == p.read_bytes()
    sample.main([*SAMPLE_ARGS, "--root", str(root), "--preview"])
    assert "all 3 episodes of this run are there already" in capsys.readouterr().out


def test_a_live_process_keeps_its_temporary_files(tmp_path):
    import os

    from worldmodels.core.files import remove_stale_temps

    mine = tmp_path / f".episode_000001.tmp{os.getpid()}-abcd.npz"
    mine.write_bytes(b"being written")
    dead = tmp_path / f".episode_000002.tmp{2**22 + 12345}-abcd.npz"
    dead.write_bytes(b"left by a killed run")
    (tmp_path / ".hidden_user_file").write_text("not ours")
    assert remove_stale_temps(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, ".hidden_user_file"])


def test_clips_come_from_the_folder_given_even_when_a_relative_path_repeats(tmp_path, monkeypatch):
    """Loaded episodes are cached by path: the same relative path in another working folder is another file."""
    from worldmodels.genie.data import ClipDataset

    firsts = []
    for name, value in (("a", 10), ("b", 200)):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        frames = np.full((4, 64, 64, 3), value, np.uint8)
        zeros = np.zeros(4)
        EpisodeDataset("data").add(Episode.from_steps(list(frames), zeros, zeros, zeros, zeros, frames[0]))
        firsts.append(ClipDataset("data", clip_length=4, random_offsets=False)[0][0])
    assert firsts[0].mean() < 0 < firsts[1].mean()
