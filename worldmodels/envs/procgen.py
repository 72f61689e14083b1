"""Procgen games for Genie: name lookup and parallel rollouts through procgen's native vectorized env.

Every step of ``ProcgenGym3Env`` advances all ``num`` games at once; a game whose episode ends resets
itself inside that step, so ``observe()`` already shows the next level's first frame (``first`` is set).
"""

import contextlib
import io
from collections.abc import Iterator

import numpy as np

from worldmodels.core.errors import UserError
from worldmodels.data.episodes import Episode

# procgen's ENV_NAMES (procgen/env.py), kept here so names resolve without importing procgen.
GAMES = (
    "bigfish",
    "bossfight",
    "caveflyer",
    "chaser",
    "climber",
    "coinrun",
    "dodgeball",
    "fruitbot",
    "heist",
    "jumper",
    "leaper",
    "maze",
    "miner",
    "ninja",
    "plunder",
    "starpilot",
)
NUM_ACTIONS = 15  # every game shares procgen's 15 key combinations (env.py get_combos)
FPS = 15  # procgen's human step rate
POLICIES = ("random", "sticky", "moves")
# Sticky actions repeat the previous one with this probability, so a choice lasts 1 / (1 - 0.75) = 4
# steps on average: motion stays coherent over a 16-frame clip, which gives latent actions something
# to explain. "random" (a new uniform action every step) is what the Genie paper's CoinRun data used.
# "moves" is sticky over the game's distinct movements (procgen_moves), each as likely: under uniform
# actions CoinRun stands still 9 times in 15 (its letter keys and DOWN do nothing) and jumps 3 in 15.
STICKY_REPEAT = 0.75
# Procgen ends an episode by itself after this many steps (game.cpp; bigfish.cpp and bossfight.cpp
# raise it). That end is a time limit, so it is stored as truncated, not as a real end.
_TIME_LIMIT = {"bigfish": 6000, "bossfight": 4000}
_FORCE_RESET = -1  # the action procgen reads as "end this episode now" (Game::step in game.cpp)


def resolve_game(name: str) -> str:
    """``CoinRun``, ``coinrun`` or ``Coinrun`` -> ``coinrun``, the name procgen knows the game by."""
    game = name.strip().lower()
    if game not in GAMES:
        raise UserError(f"env_name {name!r} is not a procgen game; one of: {', '.join(GAMES)}")
    return game


def time_limit(game: str) -> int:
    return _TIME_LIMIT.get(game, 1000)


def _procgen():
    """Import procgen quietly: it imports legacy gym, which prints a deprecation notice on every import."""
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            import procgen
    except ImportError as e:
        raise UserError(
            f"procgen is not installed ({e}); pip install procgen-mirror (procgen on Python 3.10)"
        ) from None
    return procgen


def sample_actions(
    policy: str, rng: np.random.Generator, previous: np.ndarray, first: np.ndarray, choices: np.ndarray | None = None
) -> np.ndarray:
    """One action per game; ``sticky`` and ``moves`` start every episode (``first``) with a fresh action,
    drawn uniformly from ``choices`` (default: all 15)."""
    choices = np.arange(NUM_ACTIONS) if choices is None else choices
    fresh = choices[rng.integers(len(choices), size=len(previous))]
    if policy == "random":
        return fresh
    repeat = (rng.random(len(previous)) < STICKY_REPEAT) & ~first
    return np.where(repeat, previous, fresh)


def rollout(
    game: str,
    num_envs: int,
    num_episodes: int,
    timeout: int,
    policy: str = "random",
    seed: int = 0,
    distribution_mode: str = "hard",
    start_level: int = 0,
    num_levels: int = 0,
    frame_skip: int = 1,
) -> Iterator[Episode]:
    """Play ``num_episodes`` episodes in ``num_envs`` parallel games and yield each one as it finishes.

    An episode ends when the game ends it or after ``timeout`` steps (then it is truncated and the game is
    reset). Exactly ``num_episodes`` episodes are started and each is played to its end, so short ones are
    not over-represented. After a real end the frame that followed is never shown (procgen resets within
    the step), so ``final_obs`` repeats the last frame; after a cut it is the true next frame.
    ``num_levels`` 0 means unlimited levels. The same arguments give the same episodes in the same order.
    With ``frame_skip`` k, each stored step holds its action for k game steps (rewards summed) and stores
    every k-th frame: the view moves k times as far between stored frames. A game that ends within those k
    steps is restarted at the last of them, so every stored episode opens on a level's first frame.
    """
    if policy not in POLICIES:
        raise UserError(f"policy {policy!r}: expected one of {', '.join(POLICIES)}")
    num_envs = min(num_envs, num_episodes)
    env_seed, policy_seed = np.random.SeedSequence(seed).spawn(2)
    env = _procgen().ProcgenGym3Env(
        num=num_envs,
        env_name=game,
        distribution_mode=distribution_mode,
        start_level=start_level,
        num_levels=num_levels,
        rand_seed=int(env_seed.generate_state(1)[0] & 0x7FFFFFFF),  # procgen takes a 31-bit seed
    )
    rng = np.random.default_rng(policy_seed)
    choices = None
    if policy == "moves":
        from worldmodels.envs.procgen_moves import movement_classes

        choices = np.array([actions[0] for actions in movement_classes(game)])
    limit = time_limit(game)
    _, ob, first = env.observe()
    frames, actions = ob["rgb"], np.zeros(num_envs, np.int64)
    steps: list[list[tuple]] = [[] for _ in range(num_envs)]  # (frame, action, reward) per game
    recording = np.ones(num_envs, bool)
    resetting = np.zeros(num_envs, bool)  # cut last step: this step only resets the game
    started = num_envs
    while recording.any():
        actions = sample_actions(policy, rng, actions, first, choices)
        rew, ended = np.zeros(num_envs, np.float32), np.zeros(num_envs, bool)
        for repeat in range(frame_skip):  # a reset (after a cut, or an early end) comes last: a level start
            restart = (resetting | ended) & (repeat == frame_skip - 1)
            env.act(np.where(restart, _FORCE_RESET, actions).astype(np.int32))
            step_rew, ob, step_first = env.observe()
            rew += np.where(ended | resetting, 0, step_rew)
            ended |= step_first & ~resetting
        first = ended | resetting  # a new episode shows now
        for i in np.flatnonzero(recording & ~resetting):
            steps[i].append((frames[i], actions[i], rew[i]))
            length = len(steps[i])
            if not (first[i] or length >= timeout):
                continue
            end = bool(first[i]) and length != limit
            final_obs = steps[i][-1][0] if first[i] else ob["rgb"][i]
            yield _episode(steps[i], end, final_obs)
            steps[i] = []
            recording[i] = started < num_episodes
            started += int(recording[i])
            resetting[i] = recording[i] and not first[i]
        resetting &= ~first  # a forced reset shows the new episode's first frame now
        frames = ob["rgb"]


def _episode(steps: list[tuple], end: bool, final_obs: np.ndarray) -> Episode:
    obs, act, rew = zip(*steps)
    last, never = np.zeros(len(steps), np.uint8), np.zeros(len(steps), np.uint8)
    last[-1] = 1
    return Episode.from_steps(obs, act, rew, last if end else never, never if end else last, final_obs)


def first_frame(game: str, seed: int = 0, distribution_mode: str = "hard") -> np.ndarray:
    """The first frame (h x w x 3 uint8) of a level drawn with ``seed``: a prompt when no recorded data is at hand."""
    env = _procgen().ProcgenGym3Env(
        num=1, env_name=resolve_game(game), distribution_mode=distribution_mode, rand_seed=seed & 0x7FFFFFFF
    )
    return env.observe()[1]["rgb"][0]
