"""DIAMOND's CS:GO world model in the play app: keyboard + captured mouse, or the spawn's recorded actions."""

import numpy as np
import torch

from worldmodels.core.video import to_hwc_uint8
from worldmodels.diamond.csgo import CSGOWorldModel, Spawn
from worldmodels.diamond.csgo_actions import CSGOAction
from worldmodels.play.backend import Backend, InputState, Step

HORIZON = 1000  # csgo:config/world_model_env/*.yaml: an episode ends after this many imagined frames


class CSGOBackend(Backend):
    title = "DIAMOND CS:GO (Dust II)"
    fps = 15.0
    uses_mouse = True
    record_key = "f9"  # "r" reloads in CS:GO

    def __init__(
        self,
        world_model: CSGOWorldModel,
        spawns: list[Spawn],
        mouse_multiplier: float = 10.0,
        horizon: int = HORIZON,
        human: bool = True,
    ):
        self.wm, self.spawns = world_model, spawns
        self.mouse_multiplier = mouse_multiplier
        self.horizon = horizon
        self.spawn_index = -1
        self.human = human

    def reset(self) -> np.ndarray:
        """Every reset moves on to the next spawn point."""
        self.spawn_index = (self.spawn_index + 1) % len(self.spawns)
        self.spawn = self.spawns[self.spawn_index]
        self.t = 0
        return to_hwc_uint8(self.wm.reset(self.spawn))

    def action(self, inputs: InputState) -> CSGOAction | None:
        """Keys in press order and the frame's last mouse motion event (as the original reads the mouse)."""
        if not self.human:
            return None
        dx, dy = (d * self.mouse_multiplier for d in inputs.mouse_last)
        order = inputs.pressed_order or tuple(sorted(inputs.keys))
        return CSGOAction.from_input(order, dx, dy, inputs.mouse_buttons[0], inputs.mouse_buttons[2])

    def scripted_action(self, rng: np.random.Generator) -> None:
        return None  # replay the spawn's recorded actions

    def replay_vector(self) -> torch.Tensor:
        """The recorded action of step ``t``: the spawn's last context action first, then ``next_act``."""
        return (self.spawn.act[-1] if self.t == 0 else self.spawn.next_act[self.t - 1]).float()

    def step(self, action: CSGOAction | None) -> Step:
        replay = action is None
        vector = self.replay_vector() if replay else action.encode()
        if replay:
            action = CSGOAction.decode(vector)
        frame, _ = self.wm.step(vector)
        self.t += 1
        out_of_actions = replay and self.t > len(self.spawn.next_act)
        info = {"spawn": self.spawn_index, "timestep": self.t, **action.describe()}
        return Step(to_hwc_uint8(frame), info, done=out_of_actions or self.t >= self.horizon)

    def on_key(self, key: str) -> bool:
        if key == "m":
            self.human = not self.human
            self.spawn_index -= 1  # restart the same spawn under the other controller
            return True
        return False

    def hud(self) -> dict[str, object]:
        return {"control": "human" if self.human else "replay (spawn actions)", "horizon": self.horizon}

    def help_lines(self) -> list[str]:
        return [
            "mouse   look around (captured while the window has focus; Esc releases it, a click takes it back)",
            "W A S D move    space jump    left ctrl crouch    left shift walk",
            "1 2 3 weapons    R reload    left / right click: fire / scope",
            "arrows  camera from the keyboard",
            "m       human control / replay the spawn's recorded actions (restarts the spawn)",
            "Enter   next spawn point",
        ]
