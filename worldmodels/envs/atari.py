"""Atari through gymnasium + ale-py, and the keyboard map every Atari player in this project shares."""

import gymnasium as gym
import numpy as np

from worldmodels.core.errors import UserError

# A direction or FIRE in an action name -> the key that produces it. Combinations (UPRIGHTFIRE) press
# several keys at once, as in DIAMOND's play keymap.
_KEY_OF_WORD = {"UP": "w", "RIGHT": "d", "LEFT": "a", "DOWN": "s", "FIRE": "space"}


def make_atari(env_id: str, **kwargs) -> gym.Env:
    """``gym.make`` for an ALE game id, with ale-py registered and a clear error for an unknown id."""
    import ale_py

    gym.register_envs(ale_py)
    try:
        return gym.make(env_id, **kwargs)
    except gym.error.Error as e:
        raise UserError(f"{env_id}: not an Atari environment id ({e}); try e.g. ALE/Breakout-v5") from None


def action_keys(meaning: str) -> frozenset[str]:
    """The keys that select an ALE action, e.g. ``"UPRIGHTFIRE"`` -> {w, d, space}; NOOP -> {}."""
    keys, rest = set(), meaning
    while rest and rest != "NOOP":
        for word, key in _KEY_OF_WORD.items():
            if rest.startswith(word):
                keys.add(key)
                rest = rest[len(word) :]
                break
        else:
            raise ValueError(f"unknown Atari action name {meaning!r}")
    return frozenset(keys)


class AtariKeymap:
    """Held keys -> an index into the game's (minimal) action set; longer combinations win."""

    def __init__(self, action_meanings: list[str]):
        self.action_meanings = list(action_meanings)
        combos = [(action_keys(m), i) for i, m in enumerate(self.action_meanings)]
        self._combos = sorted((c for c in combos if c[0]), key=lambda c: -len(c[0]))

    def __call__(self, pressed: set[str]) -> int:
        for keys, index in self._combos:
            if keys <= pressed:
                return index
        return 0  # NOOP

    def help_lines(self) -> list[str]:
        return [f"{' + '.join(sorted(keys)):>16}  {self.action_meanings[i]}" for keys, i in reversed(self._combos)]


class DiamondAtari:
    """An Atari game preprocessed exactly as DIAMOND trains and evaluates on it.

    ``<Game>NoFrameskip-v4`` semantics (no sticky actions, minimal action set), up to ``noop_max`` random
    no-ops at reset, each action repeated ``frame_skip`` times with a max over the last two screens, then
    an INTER_AREA resize to ``size`` x ``size`` RGB. With ``done_on_life_loss`` (the train env) losing a
    life ends the episode, and the next ``reset`` carries on in the same game, so each life is an episode.
    """

    def __init__(
        self,
        game: str,
        done_on_life_loss: bool = False,
        size: int = 64,
        noop_max: int = 30,
        frame_skip: int = 4,
        seed: int | None = None,
    ):
        env_id = game if game.endswith("-v4") or "/" in game else f"{game}NoFrameskip-v4"
        self.env = make_atari(env_id, full_action_space=False, frameskip=1)
        self.ale = self.env.unwrapped.ale
        self.action_meanings = self.env.unwrapped.get_action_meanings()
        self.num_actions = len(self.action_meanings)
        self.done_on_life_loss = done_on_life_loss
        self.size, self.noop_max, self.frame_skip = size, noop_max, frame_skip
        self.seed = seed
        self.screens = np.zeros((2, *self.env.observation_space.shape), np.uint8)
        self.lives = 0
        self.game_over = True

    def keymap(self) -> AtariKeymap:
        return AtariKeymap(self.action_meanings)

    def reset(self) -> np.ndarray:
        if not self.game_over:  # after a life loss in the train env: same game, new episode
            return self._obs()
        self.env.reset(seed=self.seed)
        self.seed = None
        noops = int(self.env.unwrapped.np_random.integers(1, self.noop_max + 1)) if self.noop_max > 0 else 0
        for _ in range(noops):
            _, _, terminated, truncated, _ = self.env.step(0)
            if terminated or truncated:
                self.env.reset()
        self.lives = self.ale.lives()
        self.game_over = False
        self.ale.getScreenRGB(self.screens[0])
        self.screens[1].fill(0)
        return self._obs()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        """obs, reward, end, truncated, info (with ``life_loss``)."""
        total_reward, terminated, truncated, life_loss = 0.0, False, False, False
        for t in range(self.frame_skip):
            _, reward, terminated, truncated, _ = self.env.step(action)
            total_reward += float(reward)
            if self.ale.lives() < self.lives:
                life_loss = True
                self.lives = self.ale.lives()
            if terminated or truncated:
                break
            if t == self.frame_skip - 2:
                self.ale.getScreenRGB(self.screens[1])
            elif t == self.frame_skip - 1:
                self.ale.getScreenRGB(self.screens[0])
        self.game_over = terminated or truncated
        end = terminated or (self.done_on_life_loss and life_loss)
        return self._obs(), total_reward, end, truncated, {"life_loss": life_loss}

    def _obs(self) -> np.ndarray:
        import cv2

        if self.frame_skip > 1:
            np.maximum(self.screens[0], self.screens[1], out=self.screens[0])
        return cv2.resize(self.screens[0], (self.size, self.size), interpolation=cv2.INTER_AREA)

    def get_state(self) -> dict:
        """The emulator (with its RNG), the no-op RNG and the frame buffers: enough to resume exactly."""
        return {
            "ale": self.ale.cloneState(include_rng=True),
            "np_random": self.env.unwrapped.np_random.bit_generator.state,
            "screens": self.screens.copy(),
            "lives": self.lives,
            "game_over": self.game_over,
            "seed": self.seed,
            "elapsed_steps": getattr(self._time_limit(), "_elapsed_steps", None),
        }

    def set_state(self, state: dict) -> None:
        self.env.reset()  # gymnasium's wrappers insist on a reset before any step
        self.ale.restoreState(state["ale"])
        if state["elapsed_steps"] is not None:
            self._time_limit()._elapsed_steps = state["elapsed_steps"]
        self.env.unwrapped.np_random.bit_generator.state = state["np_random"]
        self.screens[:] = state["screens"]
        self.lives, self.game_over, self.seed = state["lives"], state["game_over"], state["seed"]

    def _time_limit(self) -> gym.wrappers.TimeLimit | None:
        env = self.env
        while isinstance(env, gym.Wrapper):
            if isinstance(env, gym.wrappers.TimeLimit):
                return env
            env = env.env
        return None
