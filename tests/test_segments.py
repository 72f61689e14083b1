import numpy as np

from worldmodels.data.episodes import Episode, EpisodeDataset
from worldmodels.data.segments import episode_weights, sample_segments


def make_dataset(root, lengths):
    dataset = EpisodeDataset(root)
    for e, n in enumerate(lengths):
        frames = [np.full((4, 4, 3), 10 * e + t + 1, np.uint8) for t in range(n)]
        end = [0] * (n - 1) + [1]
        dataset.add(Episode.from_steps(frames, list(range(n)), [0.0] * n, end, [0] * n, np.full((4, 4, 3), 200)))
    return dataset


def test_recent_episodes_get_the_last_weight():
    weights = episode_weights(np.array([5, 5, 5, 5, 5, 5, 5, 5, 5]), [0.1, 0.1, 0.1, 0.7])
    assert np.allclose(weights[:6], 0.05) and np.allclose(weights[6:], 0.7 / 3)
    assert np.allclose(episode_weights(np.array([1, 3]), [0.1, 0.1, 0.1, 0.7]), [0.25, 0.75])  # too few: by length


def test_windows_pad_left_or_run_past_the_end(tmp_path):
    dataset = make_dataset(tmp_path, [3, 6])
    rng = np.random.default_rng(0)
    left = sample_segments(dataset, rng, 200, 5)
    assert left["mask"][:, -1].all()  # left padding only: the last step of a window is always real
    padded = ~left["mask"][:, 0]
    assert padded.any() and (left["obs"][padded, 0] == 0).all() and not left["frame"][padded, 0].any()
    every_step = {1, 2, 3, 11, 12, 13, 14, 15, 16}
    assert set(np.unique(left["obs"][left["mask"]][:, 0, 0, 0])) == every_step  # the last steps (ends) too
    right = sample_segments(dataset, rng, 200, 5, beyond_end=True)
    assert right["mask"].any(axis=1).all() and not right["mask"][:, -1].all()  # may run past the end
    after_end = right["frame"] & ~right["mask"]
    assert after_end.any() and (right["obs"][after_end] == 200).all()  # the final frame, not padding
    steps = right["obs"][right["mask"]][:, 0, 0, 0]
    assert set(np.unique(steps)) <= {1, 2, 3, 11, 12, 13, 14, 15, 16}


def test_a_new_episode_never_reuses_a_number(tmp_path):
    dataset = make_dataset(tmp_path, [2, 3, 4])
    (tmp_path / "episode_000001.npz").unlink()
    kept = Episode.load(tmp_path / "episode_000002.npz")
    assert dataset.add(kept).name == "episode_000003.npz"
    assert [p.name for p in dataset.paths] == ["episode_000000.npz", "episode_000002.npz", "episode_000003.npz"]
