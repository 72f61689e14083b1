"""Genie's evaluation helpers on inputs whose answer is known: movements, view shifts, probe, action grid."""

import numpy as np
import pytest
import torch

from worldmodels.genie.action_grid import action_grid
from worldmodels.genie.evaluation import goes, motion_report, probe_accuracy
from worldmodels.genie.motion import frame_shift, video_shifts

procgen = pytest.importorskip("procgen", reason="procgen (procgen-mirror on Python 3.11+) is not installed")


def texture(seed: int = 0, size: int = 96) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((size, size, 3)) * 255).astype(np.uint8)


def panning(dx: int, dy: int, frames: int = 5) -> np.ndarray:
    """A 64 x 64 view of a big texture that moves by (dx, dy) pixels a frame."""
    big = texture()
    return np.stack([big[16 - t * dy : 80 - t * dy, 16 - t * dx : 80 - t * dx] for t in range(frames)])


@pytest.mark.parametrize("dx, dy", [(2, 0), (-3, 0), (0, 2), (1, -1)])
def test_phase_correlation_finds_the_shift(dx, dy):
    video = panning(dx, dy)
    assert frame_shift(video[0], video[1]) == pytest.approx((dx, dy), abs=0.2)
    assert video_shifts(video).shape == (4, 2)


def test_coinrun_has_six_movements():
    from worldmodels.envs.procgen_moves import class_name, movement_classes, movement_of

    classes = movement_classes("coinrun")
    assert classes == ((0, 1), (2,), (3, 4, 9, 10, 11, 12, 13, 14), (5,), (6, 7), (8,))
    assert [class_name(c) for c in classes] == ["LEFT", "LEFT+UP", "none", "UP", "RIGHT", "RIGHT+UP"]
    assert movement_of("coinrun")[[1, 7, 13, 5]].tolist() == [0, 4, 2, 3]


def test_moves_policy_draws_every_movement_evenly():
    from worldmodels.envs.procgen import rollout
    from worldmodels.envs.procgen_moves import movement_of

    episodes = list(rollout("coinrun", 4, 8, 100, policy="moves", seed=0))
    moves = movement_of("coinrun")[np.concatenate([e.act for e in episodes])]
    shares = np.bincount(moves, minlength=6) / len(moves)
    assert shares.min() > 0.08 and shares.max() < 0.3, shares  # a sixth each, give or take the stickiness


def test_goes_and_the_motion_report_read_the_way_the_view_moves():
    """The view pans right when the player walks left (the camera follows), as the real directions say."""
    directions = {"LEFT": np.array([1.5, 0.0]), "RIGHT": np.array([-1.5, 0.0]), "UP": np.array([0.0, 2.0])}
    left, still = panning(2, 0), panning(0, 0)
    went = goes(np.stack([left, still]), directions)
    assert went["LEFT"].tolist() == [True, False] and not went["RIGHT"].any() and not went["UP"].any()
    videos = torch.from_numpy(np.stack([[left, left], [still, still], [panning(-2, 0), panning(0, 2)]]))
    videos = videos.permute(0, 1, 2, 5, 3, 4).float() / 127.5 - 1  # k b t c h w in [-1, 1]
    report = motion_report(videos, directions, {"LEFT": 0.6, "RIGHT": 0.8, "UP": 0.4})
    assert report["per_action"][0]["LEFT"] == 1.0 and report["per_action"][1]["LEFT"] == 0.0
    assert report["best"]["LEFT"] == {"action": 0, "fraction": 1.0, "real_game": 0.6}
    assert report["best"]["RIGHT"]["action"] == 2 and report["best"]["RIGHT"]["fraction"] == 0.5


def test_probe_reads_the_label_a_code_stands_for_on_held_out_episodes():
    rng = np.random.default_rng(0)
    labels = [rng.integers(0, 3, 200) for _ in range(4)]
    faithful = [(2 * y + 1, y) for y in labels]  # code = 2 y + 1: the label, renamed
    accuracy, majority = probe_accuracy(faithful, num_codes=8)
    assert accuracy == 1.0 and 0.25 < majority < 0.45
    noise = [(rng.integers(0, 8, 200), y) for y in labels]
    assert probe_accuracy(noise, num_codes=8)[0] < 0.45


def test_action_grid_has_a_row_per_action_and_a_column_per_frame():
    videos = torch.full((3, 5, 3, 64, 64), -1.0)  # black
    videos[1] = 1.0  # the second action's row is white
    grid = action_grid(videos, ["a", "b", "c"], scale=2)
    assert grid.shape == (3 * 130 + 2, 120 + 5 * 130 + 2, 3)
    assert (grid[135:200, 130:240] == 255).all() and (grid[5:100, 130:240] == 0).all()


def test_eval_reads_the_frame_skip_genie_sample_used(tmp_path):
    """The real game's reference motion must hold each movement as long as a stored step of the data lasted."""
    import json

    from challenges.genie.eval import frame_skip

    assert frame_skip(tmp_path, "coinrun") == 1  # no settings: one game step per frame
    source = tmp_path / "coinrun" / "source"
    source.mkdir(parents=True)
    (source / "sample.json").write_text(json.dumps({"settings": {"frame_skip": 3}, "first_id": 0}))
    assert frame_skip(tmp_path, "coinrun") == 3
    (source / "sample.json").write_text("{not json")
    assert frame_skip(tmp_path, "coinrun") == 1


def test_held_movements_step_as_far_as_the_frame_skip_says():
    from worldmodels.envs.procgen_moves import hold_movements

    one, three = (hold_movements("coinrun", num_states=4, hold=2, frame_skip=k)["RIGHT"] for k in (1, 3))
    assert one.shape == three.shape == (4, 3, 64, 64, 3)
    assert np.array_equal(one[:, 0], three[:, 0])  # the same start states
    assert not np.array_equal(one[:, -1], three[:, -1])  # two game steps vs six
