"""Does a DIAMOND world model predict real play? Measured on fresh Atari clips that no model was trained on.

- One step: the next frame sampled from the 4 real past frames and actions, against copying the last frame
  (in Breakout almost nothing moves between frames, so copying is a strong baseline to beat).
- Actions matter: a ``horizon``-step imagined rollout under the recorded actions, against the same rollout
  (same noise) under another clip's actions. A model that ignores its actions scores the same on both.
- It stays the game: over play's 50-step imagination horizon under the recorded actions, PSNR at chosen steps
  and, for Breakout, whether the last imagined frame still shows paddle, bricks, walls and score.
- Its policy plays: returns of whole games of the real game (``policy_returns``), against the same count of
  games played by an untrained actor (uniform over the actions: random play).

Tensor letters: b clips, t frames, c/h/w pixels. Frames are in [-1, 1] as the denoiser sees them.
"""

import numpy as np
import torch
from torch import Tensor

from worldmodels.core.metrics import frame_psnr, psnr
from worldmodels.core.video import to_hwc_uint8
from worldmodels.diamond.actor_critic import ActorCritic
from worldmodels.diamond.collect import Policy, to_model
from worldmodels.diamond.denoiser import Denoiser
from worldmodels.diamond.games import make_game, scripted_player
from worldmodels.diffusion.karras import DiffusionSampler
from worldmodels.envs.atari import DiamondAtari
from worldmodels.envs.breakout_screen import KEPT_AT, objects_kept, region_psnrs


def play_clips(
    game: str, num_clips: int, length: int, seed: int, gap: int = 10, player: str = "random", epsilon: float = 0.25
) -> tuple[Tensor, Tensor]:
    """``num_clips`` clips of ``length`` frames of play: frames b t c h w, actions b t (action t leads from frame
    t to t + 1; the last one is never used). Clips lie within one life, ``gap`` steps apart. The player is
    uniformly random, or a scripted one (``breakout_tracker``) with ``epsilon`` random actions."""
    env = DiamondAtari(game, done_on_life_loss=True, seed=seed)
    scripted = None if player == "random" else scripted_player(player, env)
    rng = np.random.default_rng(seed)
    clips, frames, actions = [], [env.reset()], []
    while len(clips) < num_clips:
        action = int(rng.integers(env.num_actions))
        if scripted is not None and rng.random() >= epsilon:
            action = scripted(env.ale.getRAM())
        obs, _, end, trunc, _ = env.step(action)
        if end or trunc:
            frames, actions = [env.reset()], []
            continue
        frames.append(obs)
        actions.append(action)
        if len(frames) == length + gap:
            clips.append((np.stack(frames[gap:]), np.array(actions[gap:] + [0])))
            frames, actions = [obs], []
    obs = to_model(np.stack([c[0] for c in clips]), "cpu")
    return obs, torch.from_numpy(np.stack([c[1] for c in clips]))


@torch.no_grad()
def policy_returns(
    actor_critic: ActorCritic, game: str, num_episodes: int, seed: int, max_steps: int | None = None, env=None
) -> list[float]:
    """The returns of ``num_episodes`` whole games (all lives) of the real ``game`` played by the policy, actions
    sampled as in play; a game stops after ``max_steps`` steps when given. ``env`` continues a given test env."""
    env = env or make_game(game, done_on_life_loss=False, seed=seed)
    policy, returns, device = Policy(actor_critic), [], next(actor_critic.parameters()).device
    for _ in range(num_episodes):
        obs, total, steps = env.reset(), 0.0, 0
        policy.reset()
        while True:
            action, _, _ = policy.act(to_model(obs, device))
            obs, rew, end, trunc, _ = env.step(action)
            total, steps = total + rew, steps + 1
            if end or trunc or steps == max_steps:
                break
        env.game_over = True  # the next reset starts a new game
        returns.append(total)
    return returns


@torch.no_grad()
def imagine(denoiser: Denoiser, obs: Tensor, act: Tensor, horizon: int, num_steps: int = 3, seed: int = 0) -> Tensor:
    """Frames n..n+horizon-1 (b horizon c h w) imagined from the first n real frames of ``obs`` and the actions
    ``act`` (b, n + horizon - 1 or more), each fed back as the next conditioning frame. Noise is seeded."""
    n = denoiser.cfg.inner_model.num_steps_conditioning
    sampler = DiffusionSampler(denoiser, num_steps_denoising=num_steps)
    device = denoiser.device
    past, imagined = obs[:, :n].to(device), []
    torch.manual_seed(seed)
    for i in range(horizon):
        frame, _ = sampler.sample(past, act[:, i : i + n].to(device))
        frame = frame.clamp(-1, 1)
        imagined.append(frame)
        past = torch.cat((past[:, 1:], frame[:, None]), dim=1)
    return torch.stack(imagined, dim=1).cpu()


def one_step_psnr(denoiser: Denoiser, obs: Tensor, act: Tensor, seed: int = 0) -> dict[str, float]:
    """PSNR of the predicted frame n (from real frames 0..n-1) and of copying frame n-1, in dB."""
    n = denoiser.cfg.inner_model.num_steps_conditioning
    predicted = imagine(denoiser, obs, act, 1, seed=seed)
    return {
        "one_step_psnr": psnr(predicted, obs[:, n : n + 1]).item(),
        "copy_last_frame_psnr": psnr(obs[:, n - 1 : n], obs[:, n : n + 1]).item(),
    }


def action_psnr(denoiser: Denoiser, obs: Tensor, act: Tensor, horizon: int = 10, seed: int = 0) -> dict[str, float]:
    """Rollout PSNR over ``horizon`` imagined frames under the recorded actions and under another clip's
    (the batch rolled by one), with the same noise; their difference shows the model follows its actions."""
    n = denoiser.cfg.inner_model.num_steps_conditioning
    real = obs[:, n : n + horizon]
    shuffled = torch.cat((act[:, :n], act[:, n:].roll(1, dims=0)), dim=1)
    recorded_psnr = psnr(imagine(denoiser, obs, act, horizon, seed=seed), real).item()
    shuffled_psnr = psnr(imagine(denoiser, obs, shuffled, horizon, seed=seed), real).item()
    return {
        "rollout_psnr": recorded_psnr,
        "rollout_psnr_shuffled_actions": shuffled_psnr,
        "action_gain": recorded_psnr - shuffled_psnr,
    }


def horizon_metrics(
    denoiser: Denoiser, obs: Tensor, act: Tensor, steps: tuple[int, ...] = (1, 10, 25, 50), seed: int = 0
) -> dict[str, float]:
    """PSNR at each of ``steps`` (1 = the first imagined frame) of one rollout under the recorded actions, and
    for Breakout the share of clips whose last imagined frame keeps each object (see ``objects_kept``) and all
    of them (``objects_kept``, with its binomial standard error: 16 clips say 88 % +- 8)."""
    n = denoiser.cfg.inner_model.num_steps_conditioning
    horizon = max(steps)
    imagined = imagine(denoiser, obs, act, horizon, seed=seed)
    real = obs[:, n : n + horizon]
    per_step = frame_psnr(imagined, real).mean(0)
    metrics = {f"psnr_step_{k}": per_step[k - 1].item() for k in steps}
    last = list(zip(to_hwc_uint8(imagined[:, -1]), to_hwc_uint8(real[:, -1])))
    kept = [objects_kept(i, r) for i, r in last]
    for name in kept[0]:
        metrics[f"{name}_kept"] = float(np.mean([k[name] for k in kept]))
    for name, values in zip(KEPT_AT, zip(*(region_psnrs(i, r).values() for i, r in last))):
        metrics[f"{name}_psnr_step_{horizon}"] = float(np.mean(values))
    share = float(np.mean([all(k.values()) for k in kept]))
    return metrics | {"objects_kept": share, "objects_kept_stderr": (share * (1 - share) / len(kept)) ** 0.5}


def horizon_rows(denoiser: Denoiser, obs: Tensor, act: Tensor, steps: tuple[int, ...], seed: int = 0) -> Tensor:
    """For each clip its real frames at ``steps`` above the imagined ones (rows (2b) t c h w, for
    ``save_grid``): a picture of how a rollout holds up."""
    n = denoiser.cfg.inner_model.num_steps_conditioning
    imagined = imagine(denoiser, obs, act, max(steps), seed=seed)
    at = torch.tensor(steps) - 1
    return torch.stack([obs[:, n:][:, at], imagined[:, at]], dim=1).flatten(0, 1)
