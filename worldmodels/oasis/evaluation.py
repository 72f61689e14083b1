"""How well an Oasis-architecture model of a game predicts it, on held-out clips (pixel-space models).

- one step: the frame after ``context`` real frames, sampled under the recorded action, against the real
  one, beside copying the last real frame (the baseline to beat);
- rollout: ``horizon`` frames generated from the first real frame under the recorded actions, and under
  another clip's actions (the clips' actions rolled by one): the model reacts to its actions when the first
  stays closer to reality. PSNR of every generated frame, averaged.
"""

from pathlib import Path

import torch
from torch import Tensor

from worldmodels.core.metrics import frame_psnr
from worldmodels.genie.data import ClipDataset
from worldmodels.oasis.dit import DiT
from worldmodels.oasis.sampler import OasisSampler
from worldmodels.oasis.train_module import action_conditions


def to_uint8(video: Tensor) -> Tensor:
    return ((video + 1) * 127.5).round().clamp(0, 255).byte()


@torch.no_grad()
def rollout(sampler: OasisSampler, video: Tensor, conditions: Tensor, start: int, frames: int) -> Tensor:
    """``frames`` generated frames (b t 3 h w in [-1, 1]) after the first ``start`` real frames of ``video``."""
    sampler.reset(sampler.encode(to_uint8(video[:, :start])), conditions[:, :start])
    made = [sampler.next_frame(conditions[:, start + i]) for i in range(frames)]
    return torch.stack(made, dim=1).float().clamp(-1, 1)


def evaluate(
    dit: DiT, video: Tensor, actions: Tensor, context: int = 4, horizon: int = 16, ddim_steps: int = 10, seed: int = 0
) -> dict[str, float]:
    """Metrics on clips ``video`` (b t 3 h w in [-1, 1], t > horizon and > context) with their actions (b t)."""
    sampler = OasisSampler(dit.eval(), None, ddim_steps=ddim_steps)
    conditions = action_conditions(actions, dit.cfg.external_cond_dim).to(sampler.device)
    video = video.to(sampler.device)
    torch.manual_seed(seed)
    one_step = rollout(sampler, video, conditions, context, 1)[:, 0]
    torch.manual_seed(seed)
    recorded = rollout(sampler, video, conditions, 1, horizon)
    torch.manual_seed(seed)
    shuffled = rollout(sampler, video, conditions.roll(1, dims=0), 1, horizon)
    real = video[:, 1 : horizon + 1]
    per_clip = frame_psnr(recorded, real).mean(1) - frame_psnr(shuffled, real).mean(1)
    return {
        "num_clips": len(video),
        "one_step_psnr": frame_psnr(one_step, video[:, context]).mean().item(),
        "copy_last_frame_psnr": frame_psnr(video[:, context - 1], video[:, context]).mean().item(),
        "rollout_psnr": frame_psnr(recorded, real).mean().item(),
        "rollout_psnr_shuffled_actions": frame_psnr(shuffled, real).mean().item(),
        "action_gain": per_clip.mean().item(),
        "action_gain_stderr": (per_clip.std() / len(per_clip) ** 0.5).item(),
    }


def held_out_clips(folder: Path, num_clips: int, length: int) -> tuple[Tensor, Tensor]:
    """The first ``num_clips`` clips of ``length`` frames of an episode folder (consecutive, never crossing an
    episode's end): frames b t 3 h w in [-1, 1] and actions b t."""
    clips = ClipDataset(folder, length, random_offsets=False)
    items = [clips[i] for i in range(min(num_clips, len(clips)))]
    return torch.stack([v for v, _ in items]), torch.stack([a for _, a in items])


@torch.no_grad()
def rollout_rows(dit: DiT, video: Tensor, actions: Tensor, frames: int, ddim_steps: int, seed: int = 0) -> Tensor:
    """For each clip its real frames 1..``frames`` above those generated from its frame 0 under the recorded
    actions: rows (2b) t 3 h w in [-1, 1], for ``save_grid``."""
    sampler = OasisSampler(dit.eval(), None, ddim_steps=ddim_steps)
    conditions = action_conditions(actions, dit.cfg.external_cond_dim).to(sampler.device)
    torch.manual_seed(seed)
    made = rollout(sampler, video.to(sampler.device), conditions, 1, frames).cpu()
    return torch.stack([video[:, 1 : frames + 1], made], dim=1).flatten(0, 1)
