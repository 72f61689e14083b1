"""Any gymnasium environment with a discrete action space and ``rgb_array`` rendering, as DIAMOND sees a
game: the rendered frame resized to ``size`` x ``size``, the reward and end as the environment gives them.
Atari games go through ``DiamondAtari`` instead (DIAMOND's own preprocessing)."""

import pickle

import gymnasium as gym
import numpy as np

from worldmodels.core.errors import UserError

DIGITS = "1234567890"


class NumberKeymap:
    """Held keys -> an action: 1 to 9 and 0 pick actions 0 to 9 (the lowest digit held wins); no key, action 0.
    A generic game has no action names to map keys from."""

    def __init__(self, num_actions: int):
        self.num_actions = num_actions

    def __call__(self, pressed: set[str]) -> int:
        return next((i for i, key in enumerate(DIGITS[: self.num_actions]) if key in pressed), 0)

    def help_lines(self) -> list[str]:
        return [f"{key:>16}  action {i}" for i, key in enumerate(DIGITS[: self.num_actions])]


class DiamondGym:
    """The ``DiamondAtari`` interface (reset, step, num_actions, keymap, get_state / set_state) over a
    gymnasium environment id such as ``CartPole-v1``. No lives: ``done_on_life_loss`` is accepted and unused."""

    def __init__(self, env_id: str, done_on_life_loss: bool = False, size: int = 64, seed: int | None = None):
        try:
            self.env = gym.make(env_id, render_mode="rgb_array")
        except (gym.error.Error, ImportError, TypeError) as e:
            raise UserError(f"--game {env_id}: not an Atari 100k game nor a gymnasium environment id ({e})") from None
        space = self.env.action_space
        if not isinstance(space, gym.spaces.Discrete):
            self.env.close()
            raise UserError(f"--game {env_id}: DIAMOND needs a discrete action space; this one is {space}")
        self.num_actions = int(space.n)
        self.action_meanings = [f"action {i}" for i in range(self.num_actions)]
        self.size, self.seed = size, seed

    def keymap(self) -> NumberKeymap:
        return NumberKeymap(self.num_actions)

    def reset(self) -> np.ndarray:
        self.env.reset(seed=self.seed)
        self.seed = None
        return self._obs()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        """obs, reward, end, truncated, info."""
        _, reward, terminated, truncated, _ = self.env.step(action)
        return self._obs(), float(reward), bool(terminated), bool(truncated), {"life_loss": False}

    def _obs(self) -> np.ndarray:
        import cv2

        frame = self.env.render()
        if not (isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3):
            raise UserError(f"{self.env.spec.id}: render() must give H x W x 3 RGB frames, got {type(frame)}")
        return cv2.resize(frame, (self.size, self.size), interpolation=cv2.INTER_AREA)

    def get_state(self) -> dict:
        """Every picklable attribute of the environment and of its wrappers (the physics state, its RNG, the
        time limit's step count; not the renderer's window): enough to carry on an episode after --resume."""
        state, env = [], self.env
        while True:
            state.append({k: v for k, v in vars(env).items() if _picklable(v)})
            if not isinstance(env, gym.Wrapper):
                break
            env = env.env
        return {"layers": pickle.dumps(state), "seed": self.seed}

    def set_state(self, state: dict) -> None:
        self.env.reset()
        env = self.env
        for layer in pickle.loads(state["layers"]):
            vars(env).update(layer)
            if not isinstance(env, gym.Wrapper):
                break
            env = env.env
        self.seed = state["seed"]


def _picklable(value) -> bool:
    if isinstance(value, gym.Env):
        return False  # a wrapper's inner env is restored layer by layer
    try:
        pickle.dumps(value)
    except Exception:  # noqa: BLE001 - renderers, windows, file handles: whatever cannot be saved is skipped
        return False
    return True
