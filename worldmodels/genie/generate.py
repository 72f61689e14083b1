"""Genie at play time: a prompt frame and latent actions in, video frames out (tokenize, MaskGIT, decode).

``GenieWorld`` advances one frame per action for the play app; ``generate_video`` rolls a whole action
sequence out with ``maskgit.generate``. Both keep the frames as token ids and decode the last
``tokenizer.cfg.max_frames`` of them: the tokenizer's decoder is causal, so decoding a window gives each
frame from its own past, as in training.

Tensor letters: b batch, t frames, s tokens per frame, c/h/w pixels.
"""

import torch
import torch.nn.functional as F
from torch import Tensor

from worldmodels.core.video import read_image
from worldmodels.genie.dynamics import DynamicsModel
from worldmodels.genie.maskgit import generate, sample_next_frame
from worldmodels.genie.tokenizer import VideoTokenizer


def load_prompt(path, size: int) -> Tensor:
    """Any PNG/JPEG as one frame 3 x size x size in [-1, 1] (resized with antialiasing when needed)."""
    image = read_image(path).float()[None] / 127.5 - 1.0
    if image.shape[-2:] != (size, size):
        image = F.interpolate(image, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return image[0].clamp(-1, 1)


@torch.no_grad()
def decode_video(tokenizer: VideoTokenizer, tokens: Tensor) -> Tensor:
    """Token ids b t s -> frames b t c h w, each decoded from at most ``max_frames`` frames of context."""
    window = tokenizer.cfg.max_frames
    tokens = tokens.unflatten(-1, tokenizer.grid)
    frames = [tokenizer.decode(tokens[:, :window])]
    for i in range(window, tokens.shape[1]):
        frames.append(tokenizer.decode(tokens[:, i - window + 1 : i + 1])[:, -1:])
    return torch.cat(frames, dim=1)


@torch.no_grad()
def generate_video(
    tokenizer: VideoTokenizer,
    dynamics: DynamicsModel,
    first_frame: Tensor,
    actions: Tensor,
    steps: int = 25,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """first_frame c h w in [-1, 1], latent actions n (long) -> video (1 + n) c h w in [-1, 1]."""
    first_tokens = tokenizer.encode(first_frame[None, None]).flatten(-2)
    tokens = generate(dynamics, first_tokens, actions[None], steps, temperature, generator)
    return decode_video(tokenizer, tokens)[0]


class GenieWorld:
    """The generated game, one frame per latent action; keeps only the frames the models can still see."""

    def __init__(
        self,
        tokenizer: VideoTokenizer,
        dynamics: DynamicsModel,
        steps: int = 25,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ):
        self.tokenizer, self.dynamics = tokenizer, dynamics
        self.steps, self.temperature, self.generator = steps, temperature, generator
        self.keep = max(tokenizer.cfg.max_frames, dynamics.cfg.max_frames - 1)
        self.tokens = self.actions = None
        self.num_frames = 0

    @torch.no_grad()
    def reset(self, first_frame: Tensor) -> Tensor:
        """first_frame c h w in [-1, 1] -> its reconstruction, the first frame of the game."""
        self.tokens = self.tokenizer.encode(first_frame[None, None]).flatten(-2)
        self.actions = torch.zeros(1, 0, dtype=torch.long, device=self.tokens.device)
        self.num_frames = 1
        return decode_video(self.tokenizer, self.tokens)[0, -1]

    @torch.no_grad()
    def step(self, action: int) -> Tensor:
        """The next frame c h w in [-1, 1] under latent action ``action``."""
        action = torch.tensor([[action]], device=self.tokens.device)
        self.actions = torch.cat((self.actions, action), dim=1)
        frame = sample_next_frame(
            self.dynamics, self.tokens, self.actions, self.steps, self.temperature, self.generator
        )
        self.tokens = torch.cat((self.tokens, frame[:, None]), dim=1)[:, -self.keep :]
        self.actions = self.actions[:, -self.keep + 1 :] if self.keep > 1 else self.actions[:, :0]
        self.num_frames += 1
        return decode_video(self.tokenizer, self.tokens[:, -self.tokenizer.cfg.max_frames :])[0, -1]

    @property
    def window(self) -> str:
        """How full the dynamics model's context is: past frames seen / frames it can see."""
        return f"{min(self.num_frames - 1, self.dynamics.cfg.max_frames - 1)}/{self.dynamics.cfg.max_frames - 1}"
