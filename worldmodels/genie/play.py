"""Genie in the play app: number keys pick the latent action live, one MaskGIT-generated frame per step.

Keys 1-8 choose latent actions 0-7 (those the LAM's codebook has); the most recently pressed held number
wins, and with none held the world advances under ``default_action``. Genie learned the actions without
labels, so their meaning is discovered by playing: in CoinRun some move the agent, one usually idles.
"""

import numpy as np
import torch

from worldmodels.core.video import to_hwc_uint8
from worldmodels.genie.generate import GenieWorld
from worldmodels.play.backend import Backend, InputState, Step

ACTION_KEYS = {**{str(k): k - 1 for k in range(1, 9)}, **{f"[{k}]": k - 1 for k in range(1, 9)}}  # row and keypad


class GenieBackend(Backend):
    title = "Genie (procgen)"
    fps = 10.0  # the paper's videos run at 10 frames per second

    def __init__(self, world: GenieWorld, first_frame: torch.Tensor, default_action: int = 0):
        """``first_frame``: c h w in [-1, 1], the prompt every episode starts from."""
        self.world, self.first_frame, self.default_action = world, first_frame, default_action
        self.num_actions = world.dynamics.cfg.num_actions

    def reset(self) -> np.ndarray:
        return to_hwc_uint8(self.world.reset(self.first_frame))

    def action(self, inputs: InputState) -> int:
        for key in reversed(inputs.pressed_order):
            action = ACTION_KEYS.get(key)
            if action is not None and action < self.num_actions:
                return action
        return self.default_action

    def scripted_action(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.num_actions))

    def step(self, action: int) -> Step:
        frame = to_hwc_uint8(self.world.step(action))
        return Step(frame, {"frame": self.world.num_frames - 1, "action": action, "window": self.world.window})

    def hud(self) -> dict[str, object]:
        return {"actions": f"0-{self.num_actions - 1}", "MaskGIT steps": self.world.steps}

    def help_lines(self) -> list[str]:
        keys = f"1-{min(self.num_actions, 8)}"
        return [
            f"{keys}     hold to choose latent action 0-{min(self.num_actions, 8) - 1} (learned without labels)",
            f"        with no number held: latent action {self.default_action}",
        ]
