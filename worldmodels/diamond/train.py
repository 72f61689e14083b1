"""DIAMOND's training loop (Alonso et al. 2024, ``src/trainer.py``), on Lightning Fabric.

Each epoch: collect real steps with the current policy, then train the denoiser, the reward/end model
and the actor-critic (the last one inside the world model), evaluate every few epochs and checkpoint.
Optionally (``clone``, off by default) the actor first learns the recorded players' actions: behaviour
cloning, the head start a policy needs when its world model is too small or its budget too short for
reinforcement learning in imagination alone.
``run_dir/checkpoints/agent_versions/agent_epoch_<epoch>.pt`` is the published agent layout (what
``diamond-play --checkpoint`` reads); ``run_dir/checkpoints/state.pt`` holds everything needed to resume
exactly: optimisers, schedules, the game in progress and every random number generator.

With ``devices > 1`` (data parallel, one process per device) every process plays its own games into its own
dataset (``dataset_rank<k>``, ``state_rank<k>.pt`` beside rank 0's) and the gradients of each step are
averaged across processes, so every copy of the agent stays identical; rank 0 evaluates, logs and saves it.
"""

import csv
import dataclasses
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from lightning.fabric import Fabric
from lightning.fabric.loggers import CSVLogger, TensorBoardLogger
from rich.progress import track
from torch.distributions import Categorical

from worldmodels.core.errors import UserError
from worldmodels.core.files import atomic_path
from worldmodels.data.episodes import EpisodeDataset
from worldmodels.data.segments import sample_segments
from worldmodels.diamond.actor_critic import ActorCriticLossConfig
from worldmodels.diamond.agent import Agent, AgentConfig
from worldmodels.diamond.collect import Collector, segments_to_model
from worldmodels.diamond.evaluation import policy_returns
from worldmodels.diamond.games import make_game, scripted_player
from worldmodels.diamond.recorded import import_recorded
from worldmodels.diamond.world_model_env import WorldModelEnv
from worldmodels.diffusion.edm import SigmaDistribution
from worldmodels.diffusion.karras import DiffusionSampler


@dataclass
class OptimConfig:
    lr: float = 1e-4
    weight_decay: float = 1e-2
    eps: float = 1e-8
    warmup_steps: int = 100
    max_grad_norm: float = 1.0


@dataclass
class ComponentConfig:
    """How much and how one model trains: steps in the first and later epochs, batch, optimiser."""

    steps_first_epoch: int = 10_000
    steps_per_epoch: int = 400
    batch_size: int = 32
    start_after_epochs: int = 0
    sample_weights: list[float] | None = field(default_factory=lambda: [0.1, 0.1, 0.1, 0.7])  # oldest..newest
    optim: OptimConfig = field(default_factory=OptimConfig)


@dataclass
class CollectConfig:
    """The first epoch collects ``first_epoch_min`` steps, then keeps going ``steps_per_epoch`` at a time until
    the rarer reward classes add up to ``first_epoch_threshold_rew`` or ``first_epoch_max`` steps are in."""

    first_epoch_min: int = 5_000
    first_epoch_max: int = 10_000
    first_epoch_threshold_rew: int = 10
    steps_per_epoch: int = 100
    num_steps_total: int = 100_000  # Atari 100k
    epsilon: float = 0.01
    policy: str = "agent"  # or "breakout_tracker": a scripted player that serves and follows the ball


@dataclass
class EvalConfig:
    every: int = 10  # epochs; 0 = never
    num_episodes: int = 4
    max_steps: int | None = None  # per episode, to bound evaluation time on small runs


@dataclass
class TrainConfig:
    game: str = "Breakout"
    run_dir: Path = Path("data/diamond/runs/Breakout")
    data: Path | None = None  # a folder of recorded episodes of this game to learn from before collecting
    agent_config: Path | None = None  # YAML; None = the published architecture
    seed: int = 0
    num_epochs: int = 1000
    collect: CollectConfig = field(default_factory=CollectConfig)
    denoiser: ComponentConfig = field(default_factory=lambda: ComponentConfig(optim=OptimConfig(max_grad_norm=1.0)))
    rew_end_model: ComponentConfig = field(
        default_factory=lambda: ComponentConfig(optim=OptimConfig(max_grad_norm=100.0))
    )
    # behaviour cloning of the dataset's actions by the actor (same network as actor_critic); 0 steps = off
    clone: ComponentConfig = field(
        default_factory=lambda: ComponentConfig(0, 0, sample_weights=None, optim=OptimConfig(weight_decay=0.0))
    )
    actor_critic: ComponentConfig = field(
        default_factory=lambda: ComponentConfig(5_000, 400, optim=OptimConfig(weight_decay=0.0, max_grad_norm=100.0))
    )
    sigma_distribution: SigmaDistribution = field(default_factory=SigmaDistribution)
    actor_critic_loss: ActorCriticLossConfig = field(default_factory=ActorCriticLossConfig)
    imagination_horizon: int = 15
    # the denoiser learns from segments of that many next frames, each predicted from the ones before it as it
    # predicted them (DIAMOND's training.num_autoregressive_steps): it learns to correct its own errors
    num_autoregressive_steps: int = 1
    # noise augmentation of the past frames the denoiser conditions on (as GameNGen's, but not told to the
    # network): Gaussian noise, its sigma uniform in [0, context_noise] per segment; 0 = off
    context_noise: float = 0.0
    sampler_steps: int = 3
    evaluation: EvalConfig = field(default_factory=EvalConfig)
    accelerator: str = "auto"
    devices: int = 1  # more than one: data parallel, one process per device
    precision: str = "32-true"  # faster than "bf16-mixed" for these small models, even on an H200


COMPONENTS = ("denoiser", "rew_end_model", "clone", "actor_critic")  # trained in this order each epoch


def make_optimizer(module: torch.nn.Module, cfg: OptimConfig) -> torch.optim.AdamW:
    """AdamW without weight decay on biases, norms and embeddings (the minGPT split DIAMOND uses)."""
    decay, no_decay = [], []
    for m in module.modules():
        for name, p in m.named_parameters(recurse=False):
            no_wd = name.endswith("bias") or isinstance(m, torch.nn.Embedding | torch.nn.GroupNorm | torch.nn.LayerNorm)
            (no_decay if no_wd else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, eps=cfg.eps)


def warmup_schedule(optimizer, warmup_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / max(1, warmup_steps)))


def rank_suffix(rank: int) -> str:
    """File-name suffix of one process's own data: none for rank 0, so one device keeps the plain names."""
    return f"_rank{rank}" if rank else ""


class Trainer:
    def __init__(self, cfg: TrainConfig, resume: bool = False):
        self.cfg = cfg
        self.run_dir = Path(cfg.run_dir)
        self.ckpt_dir = self.run_dir / "checkpoints"
        if resume and not (self.ckpt_dir / "state.pt").is_file():
            raise UserError(f"{self.ckpt_dir / 'state.pt'}: nothing to resume (no training state in this run folder)")
        if not resume and (self.ckpt_dir / "state.pt").is_file():
            raise UserError(f"{self.run_dir}: a run is already here; pass --resume to continue it, or a new run_dir")
        if cfg.precision in ("16-mixed", "16"):  # its loss scaler needs optimisers set up by Fabric; ours are not
            raise UserError(
                f"--precision {cfg.precision}: fp16 loss scaling is not supported; use 32-true or bf16-mixed"
            )
        if cfg.num_autoregressive_steps < 1:
            raise UserError(f"--num_autoregressive_steps {cfg.num_autoregressive_steps}: must be at least 1")
        if cfg.context_noise < 0:
            raise UserError(f"--context_noise {cfg.context_noise}: must be 0 or more")
        # one log folder per run, continued by --resume (the CSV rows of earlier epochs are kept, see _load_state)
        loggers = [TensorBoardLogger(self.run_dir, "tensorboard", version=0), CSVLogger(self.run_dir, "csv", version=0)]
        self.fabric = Fabric(accelerator=cfg.accelerator, devices=cfg.devices, precision=cfg.precision, loggers=loggers)
        self.fabric.launch()  # several devices: one process each, re-running this command (so only from the CLI)
        self.fabric.seed_everything(cfg.seed)  # the same initial weights in every process
        rank, suffix = self.fabric.global_rank, rank_suffix(self.fabric.global_rank)
        self.state_path = self.ckpt_dir / f"state{suffix}.pt"
        self.rng = np.random.default_rng(cfg.seed + rank)
        seed = cfg.seed + 100 * rank  # each process plays other games

        train_env = make_game(cfg.game, done_on_life_loss=True, seed=seed)
        self.test_env = make_game(cfg.game, done_on_life_loss=False, seed=cfg.seed + 1)
        agent_cfg = AgentConfig.from_yaml(cfg.agent_config) if cfg.agent_config else AgentConfig()
        self.agent_cfg = agent_cfg.with_num_actions(train_env.num_actions)
        self.agent = Agent(self.agent_cfg).to(self.fabric.device)
        ac = self.agent.actor_critic
        # cloning's linear read-out of each frame's encoding (see _clone_loss): a training aid, not in the agent
        self.clone_readout = torch.nn.Linear(ac.lstm.input_size, ac.cfg.num_actions).to(self.fabric.device)
        self.trained = {  # what each component's optimiser updates
            "denoiser": self.agent.denoiser,
            "rew_end_model": self.agent.rew_end_model,
            "clone": torch.nn.ModuleList([ac, self.clone_readout]),
            "actor_critic": ac,
        }
        self.optimizers, self.schedulers = {}, {}
        for name in COMPONENTS:
            optim = getattr(cfg, name).optim
            self.optimizers[name] = make_optimizer(self.trained[name], optim)
            self.schedulers[name] = warmup_schedule(self.optimizers[name], optim.warmup_steps)

        if rank:
            torch.manual_seed(seed)  # and draws other noise (rank 0 keeps the one-device sequence)
        self.dataset = EpisodeDataset(self.run_dir / f"dataset{suffix}")
        if cfg.data is not None and not resume and len(self.dataset) == 0:  # every process learns from them
            size = self.agent_cfg.actor_critic.img_size
            steps = import_recorded(cfg.data, self.dataset, (size, size, 3), train_env.num_actions)
            self.fabric.print(f"{cfg.data}: {len(self.dataset)} recorded episodes, {steps} steps, to learn from")
        scripted = scripted_player(cfg.collect.policy, train_env)
        self.collector = Collector(
            self.agent.actor_critic, train_env, self.dataset, cfg.collect.epsilon, seed, scripted=scripted
        )
        self.n = self.agent_cfg.denoiser.inner_model.num_steps_conditioning
        sampler = DiffusionSampler(self.agent.denoiser, num_steps_denoising=cfg.sampler_steps)
        self.wm_env = WorldModelEnv(
            sampler,
            self.agent.rew_end_model,
            self._initial_conditions,
            num_envs=cfg.actor_critic.batch_size,
            horizon=cfg.imagination_horizon,
        )
        self.imagination: dict | None = None  # imagined rollouts continue across actor-critic steps
        self.epoch, self.num_steps_collected = 0, 0
        if resume:
            self._load_state(self.state_path)

    # ----- the loop ------------------------------------------------------------------------------
    def run(self) -> None:
        while self.epoch < self.cfg.num_epochs:
            self.epoch += 1
            metrics = self.run_epoch()
            self.fabric.log_dict(metrics, step=self.epoch)
            for logger in self.fabric.loggers:
                logger.save()  # to disk every epoch: a killed run keeps its log
            summary = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
            self.fabric.print(f"epoch {self.epoch}/{self.cfg.num_epochs}: {summary}")
            self.fabric.barrier()  # every process saves the same epoch, after rank 0's evaluation
            self.save()
            self.fabric.barrier()
        for logger in self.fabric.loggers:
            logger.finalize("success")

    def run_epoch(self) -> dict[str, float]:
        cfg, metrics = self.cfg, {}
        first = self.epoch == 1
        returns = self._collect_first_epoch() if first else self._collect(cfg.collect.steps_per_epoch)
        if returns:
            metrics["collect/return"] = float(np.mean(returns))
        if not self._every_process_has_data():
            return metrics  # no finished episode yet: nothing to learn from
        for name in COMPONENTS:
            component = getattr(cfg, name)
            if self.epoch <= component.start_after_epochs:
                continue
            steps = component.steps_first_epoch if first else component.steps_per_epoch
            progress = track(range(steps), f"epoch {self.epoch}: {name}", transient=True, disable=self.quiet)
            losses = [self._train_step(name) for _ in progress]
            if losses:
                metrics[f"{name}/loss"] = float(np.mean(losses))
        if cfg.evaluation.every and self.epoch % cfg.evaluation.every == 0 and self.fabric.is_global_zero:
            returns = self.evaluate()
            metrics["eval/return"], metrics["eval/return_std"] = float(np.mean(returns)), float(np.std(returns))
        return metrics

    @property
    def quiet(self) -> bool:
        """Progress bars and prints come from rank 0 only."""
        return not self.fabric.is_global_zero

    def _every_process_has_data(self) -> bool:
        """Training steps synchronise the processes, so they must all train or all wait."""
        has_data = torch.tensor(float(len(self.dataset) > 0), device=self.fabric.device)
        return bool(self.fabric.all_reduce(has_data, reduce_op="min") > 0)

    def _collect(self, steps: int) -> list[float]:
        steps = min(steps, self.cfg.collect.num_steps_total - self.num_steps_collected)
        if steps <= 0:
            return []
        self.num_steps_collected += steps
        return self.collector.collect(steps, f"epoch {self.epoch}: collect", quiet=self.quiet)

    def _collect_first_epoch(self) -> list[float]:
        """Enough experience to start: rewards must not be all of one kind (DIAMOND's initial collect)."""
        c = self.cfg.collect
        returns = self._collect(c.first_epoch_min)
        while self.num_steps_collected < min(c.first_epoch_max, c.num_steps_total):
            counts = np.unique(
                np.sign(np.concatenate([self.dataset[i].rew for i in range(len(self.dataset))] or [[0]])),
                return_counts=True,
            )[1]
            if counts.sum() - counts.max() >= c.first_epoch_threshold_rew:
                break
            returns += self._collect(c.steps_per_epoch)
        return returns

    def _train_step(self, name: str) -> float:
        module, optimizer = self.trained[name], self.optimizers[name]
        module.train()
        with self.fabric.autocast():
            loss = getattr(self, f"_{name}_loss")()
        optimizer.zero_grad(set_to_none=True)
        self.fabric.backward(loss)
        self._average_gradients(module)
        self.fabric.clip_gradients(module, optimizer, max_norm=getattr(self.cfg, name).optim.max_grad_norm)
        optimizer.step()
        self.schedulers[name].step()
        module.eval()
        return loss.item()

    def _average_gradients(self, module: torch.nn.Module) -> None:
        """Mean of every process's gradient (one all-reduce of one flat buffer), so the copies stay identical."""
        if self.fabric.world_size == 1:
            return
        params = list(module.parameters())
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        flat = self.fabric.all_reduce(torch.cat([p.grad.flatten() for p in params]), reduce_op="mean")
        for p, grad in zip(params, flat.split([p.numel() for p in params])):
            p.grad.copy_(grad.view_as(p))

    # ----- the three losses ------------------------------------------------------------------------
    def _batch(self, component: ComponentConfig, length: int, beyond_end: bool = False) -> dict:
        segments = sample_segments(
            self.dataset, self.rng, component.batch_size, length, component.sample_weights, beyond_end
        )
        return segments_to_model(segments, self.fabric.device)

    def _denoiser_loss(self) -> torch.Tensor:
        batch = self._batch(self.cfg.denoiser, self.n + self.cfg.num_autoregressive_steps)
        return self.agent.denoiser.loss(
            batch["obs"], batch["act"], batch["mask"], self.cfg.sigma_distribution, self.cfg.context_noise
        )

    def _rew_end_model_loss(self) -> torch.Tensor:
        length = self.cfg.imagination_horizon + self.n
        batch = self._batch(self.cfg.rew_end_model, length + 1, beyond_end=True)
        mask = batch["mask"][:, :-1]
        act, rew, end = (batch[k][:, :-1] for k in ("act", "rew", "end"))
        return self.agent.rew_end_model.loss(batch["obs"], act, rew, end, mask)

    def _clone_loss(self) -> torch.Tensor:
        """Cross-entropy of the actor's policy against the recorded actions, over segments of an imagined
        rollout's length whose first ``n`` frames only warm up its LSTM (as the world model's burn-in does),
        plus the same cross-entropy for a linear read-out of every frame's encoding. The read-out is why
        cloning works: through the LSTM alone the encoder gets a weak signal (in Breakout its features barely
        differ between frames: the ball is a pixel), and the actor stayed at the actions' frequencies for
        1,500 steps; with it, 72 % of held-out actions after 300 (the tracker's data, 25 % of it random)."""
        ac, batch = self.agent.actor_critic, self._batch(self.cfg.clone, self.n + self.cfg.imagination_horizon)
        hx_cx = ac.initial_state(batch["obs"].size(0), batch["obs"].device)
        policy, readout = [], []
        for t in range(batch["obs"].size(1)):
            x = ac.features(batch["obs"][:, t])
            logits, _, hx_cx = ac.predict_from_features(x, hx_cx)
            act, mask = batch["act"][:, t], batch["mask"][:, t]
            readout.append(F.cross_entropy(self.clone_readout(x), act, reduction="none") * mask)
            if t >= self.n:
                policy.append(F.cross_entropy(logits, act, reduction="none") * mask)
        mask = batch["mask"]
        policy_loss = torch.stack(policy, 1).sum() / mask[:, self.n :].sum().clamp(min=1)
        return policy_loss + torch.stack(readout, 1).sum() / mask.sum().clamp(min=1)

    def _initial_conditions(self, n: int):
        batch = self._batch(dataclasses.replace(self.cfg.actor_critic, batch_size=n), self.n)
        return batch["obs"], batch["act"]

    def _actor_critic_loss(self) -> torch.Tensor:
        """A ``backup_every``-step imagined rollout, then REINFORCE with lambda-returns (``env_loop.py``)."""
        ac, loss_cfg = self.agent.actor_critic, self.cfg.actor_critic_loss
        if self.imagination is None:
            obs = self.wm_env.reset()
            self.imagination = {"obs": obs, "hx_cx": ac.initial_state(obs.size(0), obs.device)}
        obs, (hx, cx) = self.imagination["obs"], self.imagination["hx_cx"]
        hx, cx = hx.detach(), cx.detach()
        steps = []
        for _ in range(loss_cfg.backup_every):
            logits, val, (hx, cx) = ac.predict_act_value(obs, (hx, cx))
            act = Categorical(logits=logits.detach()).sample()
            next_obs, rew, end, trunc, info = self.wm_env.step(act)
            dead = torch.logical_or(end.bool(), trunc.bool())
            val_final = None
            if dead.any():
                with torch.no_grad():
                    _, val_final, _ = ac.predict_act_value(info["final_observation"], (hx[dead], cx[dead]))
                keep = (~dead).float().unsqueeze(1)
                hx, cx = hx * keep, cx * keep
                for i in range(info["burnin_obs"].size(1)):
                    with torch.no_grad():
                        _, _, (h_d, c_d) = ac.predict_act_value(info["burnin_obs"][:, i], (hx[dead], cx[dead]))
                    hx, cx = hx.index_put((dead,), h_d), cx.index_put((dead,), c_d)
            steps.append((act, rew, end, trunc, logits, val, dead, val_final))
            obs = next_obs
        with torch.no_grad():
            _, val_next, _ = ac.predict_act_value(obs, (hx, cx))
        # Bootstrap values: the next step's value, or the final frame's value where an episode ended.
        bootstrap = [s[5].detach() for s in steps[1:]] + [val_next]
        for t, (*_, dead, val_final) in enumerate(steps):
            if val_final is not None:
                bootstrap[t] = bootstrap[t].index_put((dead,), val_final)
        self.imagination = {"obs": obs, "hx_cx": (hx.detach(), cx.detach())}
        act, rew, end, trunc, logits, val = (torch.stack([s[i] for s in steps], dim=1) for i in range(6))
        return ac.loss(act, rew, end.long(), trunc.long(), logits, val, torch.stack(bootstrap, 1), loss_cfg)

    # ----- evaluation and checkpoints --------------------------------------------------------------
    def evaluate(self) -> list[float]:
        """Returns of the policy (no epsilon) over full games in the real test env."""
        e = self.cfg.evaluation
        return policy_returns(self.agent.actor_critic, self.cfg.game, e.num_episodes, 0, e.max_steps, self.test_env)

    def save(self) -> None:
        """Rank 0 writes the agent version; every process writes its own training state."""
        if self.fabric.is_global_zero:
            versions = self.ckpt_dir / "agent_versions"
            self.agent.save(versions / f"agent_epoch_{self.epoch:05d}.pt")
            self.agent_cfg.save_yaml(versions / "config.yaml")
        state = {
            "epoch": self.epoch,
            "world_size": self.fabric.world_size,
            "num_steps_collected": self.num_steps_collected,
            "num_episodes": len(self.dataset),
            "agent": self.agent.state_dict(),
            "clone_readout": self.clone_readout.state_dict(),
            "optimizers": {k: v.state_dict() for k, v in self.optimizers.items()},
            "schedulers": {k: v.state_dict() for k, v in self.schedulers.items()},
            "collector": self.collector.state_dict(),
            "test_env": self.test_env.get_state(),
            "imagination": self._imagination_state(),
            "rng": {
                "numpy": self.rng.bit_generator.state,
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                "python": random.getstate(),
            },
        }
        with atomic_path(self.state_path) as tmp:
            torch.save(state, tmp)

    def _imagination_state(self) -> dict | None:
        if self.imagination is None:
            return None
        wm = self.wm_env
        return self.imagination | {
            "buffers": (wm.obs_buffer, wm.act_buffer, wm.hx, wm.cx, wm.ep_len),
        }

    def _load_state(self, path: Path) -> None:
        if not path.is_file():
            raise UserError(f"{path}: missing; resume with as many --devices as the run was started with")
        # Our own file (written by save above), so a full unpickle is fine here.
        state = torch.load(path, map_location=self.fabric.device, weights_only=False)
        self.epoch, self.num_steps_collected = state["epoch"], state["num_steps_collected"]
        started_on = state.get("world_size", 1)
        if started_on != self.fabric.world_size:
            raise UserError(f"{path}: the run was started with --devices {started_on}; resume it with as many")
        epochs = torch.tensor(float(self.epoch), device=self.fabric.device)
        if self.fabric.all_reduce(epochs, reduce_op="max") != self.fabric.all_reduce(epochs, reduce_op="min"):
            raise UserError(f"{self.ckpt_dir}: the processes' states were saved at different epochs; cannot resume")
        for stray in self.dataset.paths[state["num_episodes"] :]:
            stray.unlink()  # episodes written after the last checkpoint are collected again
        self.agent.load_state_dict(state["agent"])
        if "clone_readout" in state:
            self.clone_readout.load_state_dict(state["clone_readout"])
        else:  # saved before cloning had its read-out: cloning's optimiser starts afresh
            state["optimizers"].pop("clone", None)
        for name in COMPONENTS:
            if name in state["optimizers"]:  # runs saved before a component existed start it afresh
                self.optimizers[name].load_state_dict(state["optimizers"][name])
                self.schedulers[name].load_state_dict(state["schedulers"][name])
                self._continue_at_configured_lr(name)
        self.collector.load_state_dict(state["collector"])
        self.test_env.set_state(state["test_env"])
        if state["imagination"] is not None:
            imagination = dict(state["imagination"])
            wm = self.wm_env
            wm.obs_buffer, wm.act_buffer, wm.hx, wm.cx, wm.ep_len = imagination.pop("buffers")
            self.imagination = imagination
        self.rng.bit_generator.state = state["rng"]["numpy"]
        torch.set_rng_state(state["rng"]["torch"].cpu())
        if state["rng"]["cuda"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        random.setstate(state["rng"]["python"])
        self._keep_logged_epochs()
        self.fabric.print(f"resumed {self.run_dir} after epoch {self.epoch}")

    def _continue_at_configured_lr(self, name: str) -> None:
        """The saved schedule keeps its step; its rate is the one configured now (the same unless the resuming
        command changed it, as when fine-tuning at a lower rate)."""
        scheduler, lr = self.schedulers[name], getattr(self.cfg, name).optim.lr
        scheduler.base_lrs = [lr] * len(scheduler.base_lrs)
        for group, factor in zip(self.optimizers[name].param_groups, scheduler.lr_lambdas):
            group["lr"] = lr * factor(scheduler.last_epoch)

    def _keep_logged_epochs(self) -> None:
        """Lightning's CSV logger starts its file afresh: carry over the rows of the epochs this run keeps (an
        epoch logged after the last checkpoint is trained and logged again), so the run has one CSV."""
        csv_logger = next(lg for lg in self.fabric.loggers if isinstance(lg, CSVLogger))
        path = Path(csv_logger.log_dir) / "metrics.csv"
        if not path.is_file() or self.fabric.global_rank:
            return
        with open(path, newline="") as f:
            rows = [row for row in csv.DictReader(f) if int(row["step"]) <= self.epoch]
        for row in rows:
            csv_logger.log_metrics({k: float(v) for k, v in row.items() if k != "step" and v != ""}, int(row["step"]))
        csv_logger.save()
