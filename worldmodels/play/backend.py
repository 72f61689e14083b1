"""The small interface between the play app and whatever produces frames (a world model or a real env).

Backends never import pygame: keys arrive as pygame's key names ("w", "space", "left shift").
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class InputState:
    """What the player holds down this frame; mouse motion is relative: the sum since the last frame, and the
    last motion event alone (DIAMOND's CS:GO play reads only that one, and its mouse multiplier assumes it)."""

    keys: frozenset[str] = frozenset()
    mouse_dx: float = 0.0
    mouse_dy: float = 0.0
    mouse_buttons: tuple[bool, bool, bool] = (False, False, False)
    pressed_order: tuple[str, ...] = ()  # the held keys, oldest press first (some games care)
    mouse_last: tuple[float, float] = (0.0, 0.0)


@dataclass
class Step:
    frame: np.ndarray  # H x W x 3 uint8
    info: dict[str, object] = field(default_factory=dict)  # shown in the HUD
    done: bool = False  # the episode ended: the app resets


class Backend(ABC):
    """Implement ``reset``, ``step``, ``action`` and ``scripted_action``; the rest has sensible defaults."""

    title = "worldmodels"
    fps = 15.0  # target frames per second when the backend is faster than real time
    uses_mouse = False  # capture the mouse and report relative motion
    record_key = "r"  # start / stop recording; a game that needs "r" itself picks another
    game_actions = True  # its actions are moves in the game, so recordings get a training copy (not a viewer's)

    @abstractmethod
    def reset(self) -> np.ndarray:
        """Start an episode; the first frame."""

    @abstractmethod
    def step(self, action) -> Step:
        """Advance one frame under ``action``."""

    @abstractmethod
    def action(self, inputs: InputState):
        """The action for the held keys and mouse."""

    @abstractmethod
    def scripted_action(self, rng: np.random.Generator):
        """The action when nobody is at the keyboard (headless runs): random, or a trained policy."""

    def help_lines(self) -> list[str]:
        return []

    def hud(self) -> dict[str, object]:
        """Facts that hold between steps (controller, env name); merged with each step's info."""
        return {}

    def on_key(self, key: str) -> bool:
        """A key the app does not use itself; return True to reset the episode afterwards."""
        return False

    def close(self) -> None:
        """The app is quitting: save what would otherwise be lost."""
        return None
