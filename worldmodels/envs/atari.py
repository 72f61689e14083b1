"""Atari through gymnasium + ale-py, and the keyboard map every Atari player in this project shares."""

import gymnasium as gym

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
