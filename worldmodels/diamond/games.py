"""The games DIAMOND trains and plays on: Atari through DIAMOND's own preprocessing (``DiamondAtari``), any
other gymnasium environment with discrete actions and ``rgb_array`` frames through ``DiamondGym``."""

from worldmodels.core.errors import UserError
from worldmodels.diamond.agent import canonical_game
from worldmodels.envs.atari import DiamondAtari
from worldmodels.envs.breakout_tracker import BreakoutTracker
from worldmodels.envs.gymnasium_env import DiamondGym


def is_atari(game: str) -> bool:
    return canonical_game(game) is not None or game.startswith("ALE/") or game.endswith("NoFrameskip-v4")


def make_game(game: str, done_on_life_loss: bool = False, seed: int | None = None) -> DiamondAtari | DiamondGym:
    """``Breakout``, ``ALE/MsPacman-v5``, ``CartPole-v1``, ...: the environment DIAMOND collects from."""
    kind = DiamondAtari if is_atari(game) else DiamondGym
    return kind(game, done_on_life_loss=done_on_life_loss, seed=seed)


SCRIPTED_PLAYERS = {"breakout_tracker": BreakoutTracker}


def scripted_player(name: str, env: DiamondAtari | DiamondGym) -> BreakoutTracker | None:
    """The scripted player ``collect.policy`` names, or None for the agent's own policy (``agent``)."""
    if name == "agent":
        return None
    if name not in SCRIPTED_PLAYERS:
        raise UserError(f"collect.policy: {name!r} is not one of agent, {', '.join(SCRIPTED_PLAYERS)}")
    if not isinstance(env, DiamondAtari):
        raise UserError(f"collect.policy {name} reads an Atari game's memory; {env.env.spec.id} is not one")
    return SCRIPTED_PLAYERS[name](env.action_meanings)
