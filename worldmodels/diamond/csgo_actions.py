"""CS:GO actions as DIAMOND's CS:GO model takes them: a 51-dim multi-hot vector.

Layout: 11 keys (w, a, s, d, space, left ctrl, left shift, 1, 2, 3, r), left click, right click, one of 23
mouse-x bins, one of 15 mouse-y bins. Forbidden combinations (up+down, left+right, two weapons, opposite
camera arrows) drop the later-pressed key, as in the original; arrow keys override the mouse.
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

KEYS = ["w", "a", "s", "d", "space", "left ctrl", "left shift", "1", "2", "3", "r"]
KEY_NAMES = {
    "w": "up", "d": "right", "a": "left", "s": "down", "space": "jump", "left ctrl": "crouch", "left shift": "walk",
    "1": "weapon1", "2": "weapon2", "3": "weapon3", "r": "reload",
    "up": "camera_up", "right": "camera_right", "left": "camera_left", "down": "camera_down",
}  # fmt: skip
FORBIDDEN = [
    {"up", "down"}, {"left", "right"}, {"weapon1", "weapon2"}, {"weapon1", "weapon3"}, {"weapon2", "weapon3"},
    {"camera_up", "camera_down"}, {"camera_left", "camera_right"},
]  # fmt: skip
MOUSE_X_BINS = [
    -1000,
    -500,
    -300,
    -200,
    -100,
    -60,
    -30,
    -20,
    -10,
    -4,
    -2,
    0,
    2,
    4,
    10,
    20,
    30,
    60,
    100,
    200,
    300,
    500,
    1000,
]
MOUSE_Y_BINS = [-200, -100, -50, -20, -10, -4, -2, 0, 2, 4, 10, 20, 50, 100, 200]
ARROW_CAMERA = {"left": ("x", -60), "right": ("x", 60), "up": ("y", -50), "down": ("y", 50)}
NUM_ACTIONS = len(KEYS) + 2 + len(MOUSE_X_BINS) + len(MOUSE_Y_BINS)  # 51


def allowed_keys(pressed_in_order: tuple[str, ...]) -> list[str]:
    """The mapped keys, in press order, without any key that completes a forbidden combination."""
    kept, names = [], set()
    for key in pressed_in_order:
        name = KEY_NAMES.get(key)
        if name is None:
            continue
        if any(combo <= names | {name} for combo in FORBIDDEN):
            continue
        kept.append(key)
        names.add(name)
    return kept


def nearest(bins: list[int], value: float) -> int:
    value = float(np.clip(value, bins[0], bins[-1]))
    return min(bins, key=lambda b: abs(b - value))


@dataclass
class CSGOAction:
    keys: list[str]
    mouse_x: int
    mouse_y: int
    l_click: bool
    r_click: bool

    @classmethod
    def from_input(cls, pressed_in_order, mouse_dx: float, mouse_dy: float, l_click: bool, r_click: bool):
        """Held keys (press order), mouse motion already scaled by the multiplier, and the two buttons."""
        keys = allowed_keys(tuple(pressed_in_order))
        mouse_x, mouse_y = nearest(MOUSE_X_BINS, mouse_dx), nearest(MOUSE_Y_BINS, mouse_dy)
        for key in keys:
            if key in ARROW_CAMERA:
                axis, value = ARROW_CAMERA[key]
                mouse_x, mouse_y = (value, mouse_y) if axis == "x" else (mouse_x, value)
        return cls(keys, mouse_x, mouse_y, l_click, r_click)

    def encode(self) -> Tensor:
        """The 51-dim multi-hot vector."""
        v = torch.zeros(NUM_ACTIONS)
        for key in self.keys:
            if key in KEYS:
                v[KEYS.index(key)] = 1
        v[len(KEYS)], v[len(KEYS) + 1] = float(self.l_click), float(self.r_click)
        v[len(KEYS) + 2 + MOUSE_X_BINS.index(self.mouse_x)] = 1
        v[len(KEYS) + 2 + len(MOUSE_X_BINS) + MOUSE_Y_BINS.index(self.mouse_y)] = 1
        return v

    @classmethod
    def decode(cls, v: Tensor) -> "CSGOAction":
        """Back from a multi-hot vector (recorded spawn actions), for the HUD."""
        k, x0 = len(KEYS), len(KEYS) + 2
        keys = [key for i, key in enumerate(KEYS) if v[i] > 0.5]
        mouse_x = MOUSE_X_BINS[int(v[x0 : x0 + len(MOUSE_X_BINS)].argmax())]
        mouse_y = MOUSE_Y_BINS[int(v[x0 + len(MOUSE_X_BINS) :].argmax())]
        return cls(keys, mouse_x, mouse_y, bool(v[k] > 0.5), bool(v[k + 1] > 0.5))

    def describe(self) -> dict[str, str]:
        names = [KEY_NAMES[k] for k in self.keys if not KEY_NAMES[k].startswith("camera_")]
        clicks = " + ".join(c for c, on in (("L", self.l_click), ("R", self.r_click)) if on)
        return {"keys": " + ".join(names) or "-", "mouse": f"({self.mouse_x}, {self.mouse_y})", "clicks": clicks or "-"}
