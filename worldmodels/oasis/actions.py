"""Oasis' 25-dim action vector (from OpenAI VPT): reading action files and mapping keyboard + mouse to it.

Camera convention (documented in open-oasis issue #35): VPT's ``camera`` is (pitch, yaw) in degrees, positive
= look down / look right, stored as integer bins 0..80 with 40 = still (0.5 degree bins, +-20 degrees). Oasis
copies camera[0] into index 15 ("cameraX") and camera[1] into index 16 ("cameraY"), so despite the names
**index 15 is vertical (pitch) and index 16 horizontal (yaw)**; the model was trained that way and we keep it.
Each is normalised to [-1, 1] as (bin - 40) / 40.
"""

import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from worldmodels.core.errors import UserError
from worldmodels.core.safe_load import load_data

ACTION_KEYS = [
    "inventory", "ESC", "hotbar.1", "hotbar.2", "hotbar.3", "hotbar.4", "hotbar.5", "hotbar.6", "hotbar.7",
    "hotbar.8", "hotbar.9", "forward", "back", "left", "right", "cameraX", "cameraY", "jump", "sneak", "sprint",
    "swapHands", "attack", "use", "pickItem", "drop",
]  # fmt: skip
PITCH, YAW = ACTION_KEYS.index("cameraX"), ACTION_KEYS.index("cameraY")
ACTION_FILE_SUFFIXES = (".one_hot_actions.pt", ".actions.pt")  # the release's float rows; VPT's step dicts
CAMERA_CENTER = 40  # the bin of "no camera motion"
CAMERA_BIN_DEGREES = 0.5

# Keyboard (pygame key names) and mouse buttons -> action index, for interactive play.
KEY_ACTIONS = {
    "w": "forward", "s": "back", "a": "left", "d": "right", "space": "jump", "left shift": "sneak",
    "left ctrl": "sprint", "e": "inventory", "q": "drop", "f": "swapHands",
    **{str(i): f"hotbar.{i}" for i in range(1, 10)},
}  # fmt: skip
MOUSE_ACTIONS = {0: "attack", 2: "use"}  # left and right button


def one_hot_actions(steps: list[dict]) -> Tensor:
    """VPT per-step dicts (buttons 0/1, camera as two bins) -> float tensor N x 25."""
    out = torch.zeros(len(steps), len(ACTION_KEYS))
    for i, step in enumerate(steps):
        for j, key in enumerate(ACTION_KEYS):
            if key in ("cameraX", "cameraY"):
                out[i, j] = (float(step["camera"][0 if key == "cameraX" else 1]) - CAMERA_CENTER) / CAMERA_CENTER
            else:
                out[i, j] = float(step[key])
    return out


def _numpy_globals() -> list:
    """What a pickled list of dicts with small numpy arrays needs, and nothing more."""
    import importlib

    # numpy 2 moved numpy.core to numpy._core; pickles name whichever wrote them, so allow both that exist.
    reconstructs = []
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        try:
            reconstructs.append(importlib.import_module(module)._reconstruct)
        except (ImportError, AttributeError):
            pass
    # An array pickles its dtype's class: the dtypes a VPT camera or button array can have.
    dtypes = [type(np.dtype(t)) for t in (np.float64, np.float32, np.int64, np.int32, np.bool_)]
    return [*reconstructs, np.ndarray, np.dtype, *dtypes]


def read_action_rows(path: str | os.PathLike) -> Tensor:
    """An action file as N x 25, one row per recorded frame (the action taken at it), checked: the rows that
    oasis-encode stores beside a video's latents.

    ``.one_hot_actions.pt``: a float tensor N x 25. ``.actions.pt``: a pickled list of VPT dicts, unpickled
    with only numpy's array types allowed (arbitrary code in the file is refused).
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: action file not found")
    name = path.name
    if not name.endswith(ACTION_FILE_SUFFIXES):
        raise UserError(f"{path}: expected a *.actions.pt or *.one_hot_actions.pt file")
    data = load_data(path, "action file", allowed=_numpy_globals())
    try:
        if name.endswith(".one_hot_actions.pt"):
            if not isinstance(data, Tensor) or data.ndim != 2 or data.shape[1] != len(ACTION_KEYS):
                raise ValueError(f"expected a N x {len(ACTION_KEYS)} tensor, got {getattr(data, 'shape', type(data))}")
            actions = data.float()
        else:
            if not isinstance(data, list) or not all(isinstance(s, dict) for s in data):
                raise ValueError("expected a list of per-step dicts")
            actions = one_hot_actions(data)
    except (KeyError, ValueError, TypeError, IndexError) as e:
        reason = f"a step has no {e} entry" if isinstance(e, KeyError) else e
        raise UserError(f"{path}: malformed action file ({reason})") from None
    if len(actions) == 0:
        raise UserError(f"{path}: the file holds no actions")
    low = torch.zeros(len(ACTION_KEYS))
    low[[PITCH, YAW]] = -1  # buttons are 0/1, the camera is signed
    bad = ~actions.isfinite() | (actions < low - 1e-3) | (actions > 1 + 1e-3)
    if bad.any():
        step, column = bad.nonzero()[0].tolist()
        raise UserError(
            f"{path}: step {step} has {ACTION_KEYS[column]} = {actions[step, column].item():g},"
            f" expected a number in [{low[column]:g}, 1]"
        )
    return actions


def load_actions(path: str | os.PathLike) -> Tensor:
    """An action file as N+1 x 25: the all-zero action Oasis puts before the first frame, then the file's rows
    (``read_action_rows``), as the sampler conditions on them."""
    return torch.cat([torch.zeros(1, len(ACTION_KEYS)), read_action_rows(path)])


def camera_value(degrees: float) -> float:
    """Degrees of camera motion -> the normalised value of its 0.5-degree VPT bin, clipped to +-20 degrees."""
    bins = np.clip(round(degrees / CAMERA_BIN_DEGREES), -CAMERA_CENTER, CAMERA_CENTER)
    return float(bins) / CAMERA_CENTER


def action_from_input(
    keys: frozenset[str], mouse_dx: float, mouse_dy: float, buttons: tuple[bool, bool, bool], sensitivity: float
) -> Tensor:
    """Held keys, relative mouse motion (pixels; +x right, +y down) and buttons -> one 25-dim action.

    ``sensitivity`` is degrees of camera motion per pixel of mouse motion.
    """
    action = torch.zeros(len(ACTION_KEYS))
    for key in keys:
        if key in KEY_ACTIONS:
            action[ACTION_KEYS.index(KEY_ACTIONS[key])] = 1.0
    for button, name in MOUSE_ACTIONS.items():
        if buttons[button]:
            action[ACTION_KEYS.index(name)] = 1.0
    action[PITCH] = camera_value(mouse_dy * sensitivity)
    action[YAW] = camera_value(mouse_dx * sensitivity)
    return action
