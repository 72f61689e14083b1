"""The keyboard for procgen's 15 actions, as procgen's own interactive player maps it: arrows for the
movements (two arrows for a diagonal), and d, a, w, s, q, e for the game-specific actions."""

from worldmodels.envs.procgen_moves import COMBO_NAMES

_KEY_OF_PART = {"LEFT": "left", "RIGHT": "right", "UP": "up", "DOWN": "down"}
NO_ACTION = COMBO_NAMES.index("none")


def combo_keys(name: str) -> frozenset[str]:
    """``"LEFT+UP"`` -> {left, up}; ``"D"`` -> {d}; ``"none"`` -> {}."""
    if name == "none":
        return frozenset()
    return frozenset(_KEY_OF_PART.get(part, part.lower()) for part in name.split("+"))


class ProcgenKeymap:
    """Held keys -> a procgen action; the combination with the most held keys wins, nothing held is no-op."""

    def __init__(self):
        combos = [(combo_keys(name), i) for i, name in enumerate(COMBO_NAMES) if name != "none"]
        self._combos = sorted(combos, key=lambda combo: -len(combo[0]))

    def __call__(self, pressed: set[str]) -> int:
        return next((i for keys, i in self._combos if keys <= pressed), NO_ACTION)

    def help_lines(self) -> list[str]:
        return [f"{' + '.join(sorted(keys)):>16}  {COMBO_NAMES[i]}" for keys, i in reversed(self._combos)]
