"""Training an Oasis-architecture DiT with diffusion forcing (Lightning), on the project's own game clips.

Small games train in pixel space: the DiT's patch embedding reads the 64x64 RGB frames in [-1, 1] directly
(``in_channels`` 3), so no VAE is needed. The action that led to frame t conditions frame t, one-hot; the
first frame of a clip gets the zero vector, as the published model's prompts start with the zero action.
AdamW, linear warm-up then cosine decay (the Genie models' schedule). The validation loss draws its noise
levels and noise from a generator seeded by the batch index, so it is comparable between checkpoints.

Checkpoints carry torch's random state (the noise, the levels and the clips' offsets all come from it), so a
run resumed with ``--ckpt_path`` at an epoch's end continues exactly as if it had not stopped; resumed in the
middle of an epoch, Lightning restarts that epoch's data.
"""

from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule
from torch import Tensor

from worldmodels.core.checkpoints import build_from_config, export_trained, read_trained, with_prefix
from worldmodels.core.errors import UserError
from worldmodels.genie.optim import adamw_warmup_cosine
from worldmodels.oasis.diffusion_forcing import DiffusionForcing, DiffusionForcingConfig
from worldmodels.oasis.dit import DiT, DiTConfig

CONFIG_KEY = "oasis_dit_config"


def action_conditions(actions: Tensor, num_actions: int) -> Tensor:
    """Actions taken at each frame (b t long) -> what conditions each frame (b t num_actions): the one-hot
    action taken at the frame before, zeros for the first."""
    if actions.min() < 0 or actions.max() >= num_actions:
        raise UserError(f"the data has actions {actions.min()}..{actions.max()}; --model.num_actions is {num_actions}")
    return F.pad(F.one_hot(actions[:, :-1], num_actions).float(), (0, 0, 1, 0))


class OasisTrainModule(LightningModule):
    """A ``DiT`` in training: its config's fields (flat; ``num_actions`` is the action width), the objective's,
    then the optimizer's (plain numbers only, so checkpoints load with ``weights_only=True``)."""

    def __init__(
        self,
        patch_size: int = 4,
        in_channels: int = 3,
        hidden_size: int = 128,
        depth: int = 4,
        num_heads: int = 4,
        mlp_ratio: float = 4.0,
        max_frames: int = 8,
        num_actions: int = 15,
        snr_clip: float = 5.0,
        cum_snr_decay: float = 0.96,
        clean_context: float = 0.0,
        lr: float = 3e-4,
        min_lr: float = 3e-5,
        warmup_steps: int = 200,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: float = 0.0,
    ):
        super().__init__()
        self.save_hyperparameters()
        cfg = DiTConfig(patch_size, in_channels, hidden_size, depth, num_heads, mlp_ratio, num_actions, max_frames)
        self.dit = DiT(cfg)
        self.objective = DiffusionForcing(
            DiffusionForcingConfig(snr_clip=snr_clip, cum_snr_decay=cum_snr_decay, clean_context=clean_context)
        )

    def conditions(self, actions: Tensor) -> Tensor:
        return action_conditions(actions, self.hparams.num_actions)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        video, actions = batch
        loss = self.objective.loss(self.dit, video, self.conditions(actions))
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        video, actions = batch
        generator = torch.Generator(video.device).manual_seed(batch_idx)
        levels = self.objective.levels(*video.shape[:2], video.device, generator)
        noise = torch.randn(video.shape, generator=generator, device=video.device)
        noise = noise.clamp(-self.objective.cfg.noise_clip, self.objective.cfg.noise_clip)
        loss = self.objective.loss(self.dit, video, self.conditions(actions), levels, noise)
        self.log("val/loss", loss, prog_bar=True)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[CONFIG_KEY] = asdict(self.dit.cfg)  # load_trained_dit rebuilds the DiT without Lightning
        checkpoint["torch_rng_state"] = torch.get_rng_state()
        if torch.cuda.is_available():
            checkpoint["cuda_rng_states"] = torch.cuda.get_rng_state_all()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """The random state goes back when training starts: the sanity check before it draws from it too."""
        self.resumed_rng = {k: checkpoint[k] for k in ("torch_rng_state", "cuda_rng_states") if k in checkpoint}

    def on_train_start(self) -> None:
        rng, self.resumed_rng = getattr(self, "resumed_rng", {}), {}
        if "torch_rng_state" in rng:
            torch.set_rng_state(rng["torch_rng_state"])
        if "cuda_rng_states" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda_rng_states"])

    def configure_optimizers(self) -> dict:
        return adamw_warmup_cosine(self.parameters(), self.hparams, self.trainer.max_steps)


def load_trained_dit(path: str | Path, device: torch.device | str = "cpu") -> DiT:
    """The DiT of an ``oasis-train`` checkpoint or of its export (``export_trained_dit``), in eval mode and
    float32; a one-line error for any other file."""
    config, tensors = read_trained(Path(path), CONFIG_KEY, "oasis-train", "oasis-train fit")
    tensors = {k: v.float() for k, v in with_prefix(tensors, "dit").items()}
    return build_from_config(DiT, DiTConfig, config, tensors, str(path)).to(device).eval()


def export_trained_dit(checkpoint: str | Path, output: str | Path, dtype: torch.dtype = torch.float16) -> Path:
    """An ``oasis-train`` checkpoint -> one safetensors file: the DiT (float16, how the bundled model ships)
    with its config in the header."""
    config, tensors = read_trained(Path(checkpoint), CONFIG_KEY, "oasis-train", "oasis-train fit")
    return export_trained(config, tensors, CONFIG_KEY, output, dtype)
