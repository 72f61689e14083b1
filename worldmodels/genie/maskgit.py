"""MaskGIT decoding (Chang et al. 2022) of Genie's next frame, and frame-by-frame rollouts.

A frame starts fully masked. At step i of n the model predicts every masked token; each gets an id sampled
from softmax(logits / temperature) (argmax when temperature is 0) and a confidence, the probability of that
id. The most confident are fixed so that floor(s * cos(pi/2 * i/n)) tokens stay masked: MaskGIT's cosine
schedule, which commits few tokens while the frame is mostly unknown and many at the end; the last step fixes
the rest. Fixed tokens never change. Genie's CoinRun model samples with 25 steps at temperature 1.

Unlike Jafar we keep the temperature constant over the steps and sample on the last step too (Jafar anneals
it and can take the argmax; ``temperature=0`` gives greedy decoding), and add no Gumbel noise to the
confidences (MaskGIT does, for diversity).

With ``use_cache`` (the default) the past frames run once per new frame (``DynamicsModel.context``) and each
step runs the new frame alone against their cached keys/values; without it every step runs the whole window.

Tensor letters: b batch, t frames, s tokens per frame, v vocabulary, n new frames.
"""

import math

import torch
from torch import Tensor

from worldmodels.genie.dynamics import DynamicsModel


def sample_tokens(logits: Tensor, temperature: float, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
    """logits b s v -> (ids b s, their probabilities b s)."""
    if temperature == 0:
        probs = logits.softmax(dim=-1)
        ids = probs.argmax(dim=-1)
    else:
        probs = (logits / temperature).softmax(dim=-1)
        ids = torch.multinomial(probs.flatten(0, 1), 1, generator=generator).view(probs.shape[:2])
    return ids, probs.gather(-1, ids[..., None])[..., 0]


@torch.no_grad()
def sample_next_frame(
    model: DynamicsModel,
    tokens: Tensor,
    actions: Tensor,
    steps: int = 25,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
) -> Tensor:
    """The frame after tokens b t s (the past) given actions b t (a_i leads from frame i to i+1, the last one
    to the new frame) -> ids b s. Only the last ``max_frames - 1`` past frames are used."""
    if actions.shape[1] != tokens.shape[1]:
        raise ValueError(f"{tokens.shape[1]} past frames need as many actions (the last leads to the new frame)")
    window = model.cfg.max_frames - 1
    tokens, actions = tokens[:, -window:], actions[:, -window:]
    b, t, s = tokens.shape
    frame = torch.zeros(b, s, dtype=torch.long, device=tokens.device)
    mask = torch.ones(b, s, dtype=torch.bool, device=tokens.device)
    if use_cache:
        cache = model.context(tokens, actions[:, :-1])

        def predict(frame: Tensor, mask: Tensor) -> Tensor:
            return model.step(frame, actions[:, -1], cache, mask)

    else:
        past_mask = torch.zeros(b, t, s, dtype=torch.bool, device=tokens.device)

        def predict(frame: Tensor, mask: Tensor) -> Tensor:
            window_mask = torch.cat((past_mask, mask[:, None]), dim=1)
            return model(torch.cat((tokens, frame[:, None]), dim=1), actions, window_mask)[:, -1]

    for i in range(1, steps + 1):
        ids, confidence = sample_tokens(predict(frame, mask).float(), temperature, generator)
        frame = torch.where(mask, ids, frame)
        confidence = confidence.masked_fill(~mask, math.inf)
        still_masked = math.floor(s * math.cos(math.pi / 2 * i / steps))
        fixed = confidence.argsort(dim=-1, descending=True)[:, : s - still_masked]
        mask = torch.ones_like(mask).scatter(1, fixed, False)
    return frame


@torch.no_grad()
def generate(
    model: DynamicsModel,
    first_tokens: Tensor,
    actions: Tensor,
    steps: int = 25,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
) -> Tensor:
    """Roll out from first_tokens b 1 s with actions b n -> b (1+n) s, one MaskGIT-decoded frame per action."""
    frames = first_tokens
    for i in range(actions.shape[1]):
        frame = sample_next_frame(model, frames, actions[:, : i + 1], steps, temperature, generator, use_cache)
        frames = torch.cat((frames, frame[:, None]), dim=1)
    return frames
