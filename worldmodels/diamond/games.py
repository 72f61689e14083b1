"""The games DIAMOND trains and plays on: Atari through DIAMOND's own preprocessing (``DiamondAtari``), any
other gymnasium environment with discrete actions and ``rgb_array`` frames through ``DiamondGym``."""

from worldmodels.diamond.agent import canonical_game
from worldmodels.envs.atari import DiamondAtari
from worldmodels.envs.gymnasium_env import DiamondGym


def is_atari(game: str) -> bool:
    return canonical_game(game) is not None or game.startswith("ALE/") or game.endswith("NoFrameskip-v4")


def make_game(game: str, done_on_life_loss: bool = False, seed: int | None = None) -> DiamondAtari | DiamondGym:
    """``Breakout``, ``ALE/MsPacman-v5``, ``CartPole-v1``, ...: the environment DIAMOND collects from."""
    kind = DiamondAtari if is_atari(game) else DiamondGym
    return kind(game, done_on_life_loss=done_on_life_loss, seed=seed)
