"""What procgen's 15 actions do in each game: the distinct movements, found by trying them.

Every game takes the same 15 key combinations, but most games ignore some keys (CoinRun has no use for DOWN
or the letter keys), so 15 action ids collapse to fewer distinct movements: CoinRun has six (left, right or
neither, each with or without a jump). Whether two actions differ is measured, not looked up: from a set of
game states reached by random play, each action is held for a few steps from the same cloned state, and two
actions are the same movement when they always give the same picture. That works for every game alike.

The movements are what a latent action should recover (``genie-eval`` compares them), and the ``moves``
data policy draws from them evenly, so that no movement is rare in the training video.
"""

import functools

import numpy as np

from worldmodels.envs.procgen import NUM_ACTIONS, _procgen, resolve_game

# procgen's key combinations in action order (procgen/env.py, get_combos)
COMBO_NAMES = (
    "LEFT+DOWN", "LEFT", "LEFT+UP", "DOWN", "none", "UP", "RIGHT+DOWN", "RIGHT", "RIGHT+UP",
    "D", "A", "W", "S", "Q", "E",
)  # fmt: skip


@functools.cache
def movement_classes(game: str, num_states: int = 24, hold: int = 4, seed: int = 0) -> tuple[tuple[int, ...], ...]:
    """The game's distinct movements, each a tuple of the action ids that do it, in action order.

    Two actions differ when, from any of ``num_states`` states reached by random play, holding each for
    ``hold`` steps gives different frames (one step may not show it: a jump in mid-air does nothing).
    """
    env = _procgen().ProcgenGym3Env(num=1, env_name=resolve_game(game), distribution_mode="hard", rand_seed=seed)
    rng = np.random.default_rng(seed)
    differ = np.zeros((NUM_ACTIONS, NUM_ACTIONS), bool)
    for _ in range(num_states):
        for _ in range(8):  # random play between the states tried
            env.act(rng.integers(NUM_ACTIONS, size=1).astype(np.int32))
        state = env.get_state()
        frames = []
        for action in range(NUM_ACTIONS):
            env.set_state(state)
            for _ in range(hold):
                env.act(np.array([action], np.int32))
            frames.append(env.observe()[1]["rgb"][0].copy())
        differ |= np.array([[not np.array_equal(a, b) for b in frames] for a in frames])
        env.set_state(state)
    classes, placed = [], set()
    for action in range(NUM_ACTIONS):
        if action not in placed:
            same = tuple(b for b in range(NUM_ACTIONS) if b not in placed and not differ[action, b])
            classes.append(same)
            placed.update(same)
    return tuple(classes)


def class_name(actions: tuple[int, ...]) -> str:
    """A movement's name: its plainest key combination (CoinRun's {LEFT+DOWN, LEFT} is "LEFT")."""
    return min((COMBO_NAMES[a] for a in actions), key=lambda name: (name != "none", name.count("+"), len(name)))


def movement_of(game: str) -> np.ndarray:
    """action id -> the index of its movement class in ``movement_classes(game)``, as a lookup array."""
    lookup = np.zeros(NUM_ACTIONS, np.int64)
    for index, actions in enumerate(movement_classes(game)):
        lookup[list(actions)] = index
    return lookup


def hold_movements(
    game: str, num_states: int = 40, hold: int = 8, frame_skip: int = 1, seed: int = 7
) -> dict[str, np.ndarray]:
    """The real game's answer to "what does holding this movement look like": from ``num_states`` states
    reached by random play, each movement held for ``hold`` stored steps (of ``frame_skip`` game steps each,
    as genie-sample stores them) from the same cloned state.
    Returns class name -> frames num_states x (1 + hold) x h x w x 3."""
    classes = movement_classes(game)
    env = _procgen().ProcgenGym3Env(num=1, env_name=resolve_game(game), distribution_mode="hard", rand_seed=seed)
    rng = np.random.default_rng(seed)
    out = {class_name(c): [] for c in classes}
    for _ in range(num_states):
        for _ in range(int(rng.integers(5, 30))):
            env.act(np.array([classes[rng.integers(len(classes))][0]], np.int32))
        state = env.get_state()
        for actions in classes:
            env.set_state(state)
            frames = [env.observe()[1]["rgb"][0].copy()]
            for _ in range(hold):
                for _ in range(frame_skip):
                    env.act(np.array([actions[0]], np.int32))
                frames.append(env.observe()[1]["rgb"][0].copy())
            out[class_name(actions)].append(np.stack(frames))
        env.set_state(state)
    return {name: np.stack(frames) for name, frames in out.items()}
