"""Oasis in the play app: keyboard and captured mouse drive the model live, one generated frame per step."""

import numpy as np
import torch

from worldmodels.core.errors import UserError
from worldmodels.oasis.actions import ACTION_KEYS, action_from_input
from worldmodels.oasis.sampler import OasisSampler
from worldmodels.play.backend import Backend, InputState, Step

MORE_STEPS, FEWER_STEPS = {"=", "+", "[+]"}, {"-", "[-]"}


def change_ddim_steps(sampler: OasisSampler, key: str) -> None:
    """+ / - : one DDIM step more or fewer (1 to 50), live: quality against speed."""
    if key in MORE_STEPS:
        sampler.ddim_steps = min(50, sampler.ddim_steps + 1)
    elif key in FEWER_STEPS:
        sampler.ddim_steps = max(1, sampler.ddim_steps - 1)


class OasisBackend(Backend):
    title = "Oasis (Minecraft)"
    fps = 20.0
    uses_mouse = True

    def __init__(self, sampler: OasisSampler, prompt: torch.Tensor, sensitivity: float = 0.15, script=None):
        """``prompt``: uint8 1 x t x 3 x 360 x 640. ``script``: a whole action file (N x 25, the zero action
        first) for headless runs: its first t actions condition the prompt frames, the rest are replayed."""
        self.sampler = sampler
        self.prompt = prompt
        self.prompt_latents = sampler.encode(prompt)
        self.sensitivity = sensitivity
        self.script = script
        self.script_index = prompt.shape[1]

    def reset(self) -> np.ndarray:
        t = self.prompt.shape[1]
        prompt_actions = self.script[:t] if self.script is not None else torch.zeros(t, len(ACTION_KEYS))
        self.sampler.reset(self.prompt_latents, prompt_actions[None])
        self.script_index = t
        return self.prompt[0, -1].permute(1, 2, 0).numpy()

    def action(self, inputs: InputState) -> torch.Tensor:
        return action_from_input(inputs.keys, inputs.mouse_dx, inputs.mouse_dy, inputs.mouse_buttons, self.sensitivity)

    def scripted_action(self, rng: np.random.Generator) -> torch.Tensor:
        """The next action of ``script``, or a random walk forward when there is none."""
        if self.script is not None:
            if self.script_index >= len(self.script):
                raise UserError(f"the action script ends after {len(self.script) - 1} actions")
            self.script_index += 1
            return self.script[self.script_index - 1]
        keys = frozenset({"w"} | ({"space"} if rng.random() < 0.1 else set()))
        return action_from_input(keys, float(rng.normal(0, 20)), 0.0, (False, False, False), self.sensitivity)

    def step(self, action: torch.Tensor) -> Step:
        latent = self.sampler.next_frame(action[None])
        frame = self.sampler.decode(latent)[0].cpu().numpy()
        window = min(self.sampler.num_frames, self.sampler.dit.max_frames)
        info = {
            "frame": self.sampler.num_frames - 1,
            "window": f"{window}/{self.sampler.dit.max_frames}",
            "DDIM steps": self.sampler.ddim_steps,
            "cache": "on" if self.sampler.use_cache else "off",
        }
        return Step(frame, info)

    def on_key(self, key: str) -> bool:
        change_ddim_steps(self.sampler, key)
        return False

    def hud(self) -> dict[str, object]:
        return {"DDIM steps": self.sampler.ddim_steps}

    def help_lines(self) -> list[str]:
        return [
            "mouse   look around (captured while the window has focus; Esc releases it, a click takes it back)",
            "W A S D move     space jump     left shift sneak     left ctrl sprint",
            "left / right click   attack / use      1-9 hotbar",
            "E inventory     Q drop     F swap hands",
            "+ / -   more / fewer DDIM steps (quality vs speed)",
        ]
