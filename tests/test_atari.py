import numpy as np
import pytest

from worldmodels.core.errors import UserError
from worldmodels.envs.atari import AtariKeymap, DiamondAtari, action_keys, make_atari
from worldmodels.play.atari import AtariBackend
from worldmodels.play.backend import InputState

FULL_SET = [
    "NOOP", "FIRE", "UP", "RIGHT", "LEFT", "DOWN", "UPRIGHT", "UPLEFT", "DOWNRIGHT", "DOWNLEFT",
    "UPFIRE", "RIGHTFIRE", "LEFTFIRE", "DOWNFIRE", "UPRIGHTFIRE", "UPLEFTFIRE", "DOWNRIGHTFIRE", "DOWNLEFTFIRE",
]  # fmt: skip


def test_action_names_to_keys():
    assert action_keys("NOOP") == frozenset()
    assert action_keys("UPRIGHTFIRE") == {"w", "d", "space"}
    with pytest.raises(ValueError):
        action_keys("JUMP")


def test_keymap_prefers_longest_combination():
    keymap = AtariKeymap(FULL_SET)
    assert keymap(set()) == 0
    assert keymap({"space"}) == 1
    assert keymap({"w", "d"}) == FULL_SET.index("UPRIGHT")
    assert keymap({"w", "d", "space"}) == FULL_SET.index("UPRIGHTFIRE")
    assert keymap({"d", "space", "x"}) == FULL_SET.index("RIGHTFIRE")


def test_keymap_follows_the_minimal_action_set():
    keymap = AtariKeymap(["NOOP", "FIRE", "RIGHT", "LEFT"])  # Breakout
    assert keymap({"a"}) == 3
    assert keymap({"w", "a"}) == 3  # no UPLEFT in Breakout: the longest combo that exists
    assert keymap({"s"}) == 0
    assert len(keymap.help_lines()) == 3


def test_backend_steps_and_renders_the_real_game():
    backend = AtariBackend("ALE/Breakout-v5", seed=0)
    first = backend.reset()
    assert first.shape == (210, 160, 3) and first.dtype == np.uint8
    assert backend.action(InputState(frozenset({"space"}))) == 1
    frames = [backend.step(1).frame]
    for _ in range(30):
        step = backend.step(2)
        frames.append(step.frame)
    assert step.info["action"] == "RIGHT"
    assert not np.array_equal(frames[0], frames[-1])  # the paddle moved


def test_unknown_game_is_a_clear_error():
    with pytest.raises(UserError, match="ALE/NotAGame-v5: not an Atari environment id"):
        make_atari("ALE/NotAGame-v5")


def test_diamond_observation_is_the_max_of_the_last_two_screens_area_resized():
    import cv2

    env = DiamondAtari("Breakout", seed=0)
    env.reset()
    for _ in range(20):
        env.step(1)  # serve: the ball moves, so consecutive screens differ
    state = env.ale.cloneState(include_rng=True)
    screens, left = [], env.ale.getMinimalActionSet()[3]  # action 3 is LEFT in Breakout's minimal set
    for _ in range(4):
        env.ale.act(left)
        screens.append(env.ale.getScreenRGB())
    env.ale.restoreState(state)
    obs = env.step(3)[0]
    assert not np.array_equal(screens[2], screens[3])
    expected = cv2.resize(np.maximum(screens[2], screens[3]), (64, 64), interpolation=cv2.INTER_AREA)
    assert np.array_equal(obs, expected)


def test_the_test_env_plays_on_after_a_lost_life_and_a_new_game_starts_clean():
    import cv2

    env, rng = DiamondAtari("Breakout", done_on_life_loss=False, seed=0), np.random.default_rng(0)
    env.reset()
    life_losses = 0
    for _ in range(5000):
        obs, _, end, trunc, info = env.step(int(rng.integers(4)))
        life_losses += info["life_loss"]
        if end or trunc:
            break
    assert life_losses == 5 and end and env.game_over  # Breakout's five lives, one episode
    first = env.reset()  # a new game: nothing of the last one's screens in its first frame
    assert np.array_equal(first, cv2.resize(env.ale.getScreenRGB(), (64, 64), interpolation=cv2.INTER_AREA))
