"""A small Oasis-architecture model of a game (trained by ``oasis-train``: a procgen game, or an Atari one such
as the bundled Breakout) in the play app: the game's keys in, one generated frame per step, the action that led
to each frame conditioning it, as in training."""

import numpy as np
import torch
import torch.nn.functional as F

from worldmodels.oasis.play import change_ddim_steps
from worldmodels.oasis.sampler import OasisSampler
from worldmodels.play.backend import Backend, InputState, Step


class OasisGameBackend(Backend):
    fps = 15.0

    def __init__(self, sampler: OasisSampler, prompt: np.ndarray, keymap, title: str, facts: dict | None = None):
        """``prompt``: the first frame, H x W x 3 uint8 at the model's frame size. ``keymap``: held keys -> the
        game's action index, with ``help_lines`` (``ProcgenKeymap``, ``AtariKeymap``). ``facts``: shown in the
        HUD throughout (what a player must know about the model, e.g. that it barely follows the keys)."""
        self.sampler, self.prompt, self.keymap, self.title = sampler, prompt, keymap, title
        self.facts = facts or {}
        self.num_actions = sampler.dit.cfg.external_cond_dim

    def one_hot(self, action: int) -> torch.Tensor:
        return F.one_hot(torch.tensor([action]), self.num_actions).float()

    def reset(self) -> np.ndarray:
        frames = torch.from_numpy(self.prompt).permute(2, 0, 1)[None, None]
        self.sampler.reset(self.sampler.encode(frames), torch.zeros(1, 1, self.num_actions))
        return self.prompt

    def action(self, inputs: InputState) -> int:
        return self.keymap(set(inputs.keys))

    def scripted_action(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.num_actions))

    def step(self, action: int) -> Step:
        """The new frame is conditioned on the action taken at the last one (``OasisTrainModule.conditions``)."""
        latent = self.sampler.next_frame(self.one_hot(action))
        frame = self.sampler.decode(latent)[0].cpu().numpy()
        return Step(frame, {"frame": self.sampler.num_frames - 1, "DDIM steps": self.sampler.ddim_steps})

    def hud(self) -> dict[str, object]:
        return self.facts

    def on_key(self, key: str) -> bool:
        change_ddim_steps(self.sampler, key)
        return False

    def help_lines(self) -> list[str]:
        return ["Game keys:", *self.keymap.help_lines(), "+ / -   more / fewer DDIM steps (quality vs speed)"]
