"""Training an Oasis-architecture DiT with diffusion forcing (Lightning), on the project's own game clips.

Small games train in pixel space: the DiT's patch embedding reads the 64x64 RGB frames in [-1, 1] directly
(``in_channels`` 3), so no VAE is needed. The action that led to frame t conditions frame t, one-hot; the
first frame of a clip gets the zero vector, as the published model's prompts start with the zero action.
AdamW, linear warm-up then cosine decay (the Genie models' schedule). The validation loss draws its noise
levels and noise from a generator seeded by the batch index, so it is comparable between checkpoints.

Bigger models train on latents (``oasis-encode``, then ``data.class_path: worldmodels.oasis.latents.LatentDataModule``),
whose actions are int (one-hot here) or float vectors (Oasis 500M's 25-dim VPT actions, used as they are).
``init_from`` starts from a DiT in the published layout (``oasis500m.safetensors``, or any file ``load_dit``
reads) and ``export_published_dit`` writes the trained DiT back in that layout, for ``oasis-play --dit``.

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
from torch.utils.checkpoint import checkpoint

from worldmodels.core.checkpoints import build_from_config, export_trained, read_trained, with_prefix
from worldmodels.core.errors import UserError
from worldmodels.genie.optim import adamw_warmup_cosine
from worldmodels.oasis.diffusion_forcing import DiffusionForcing, DiffusionForcingConfig
from worldmodels.oasis.dit import DiT, DiTBlock, DiTConfig
from worldmodels.oasis.load import load_dit, save_model
from worldmodels.oasis.sampler import cast_matmul_weights

CONFIG_KEY = "oasis_dit_config"


def action_conditions(actions: Tensor, num_actions: int) -> Tensor:
    """Actions taken at each frame (b t long) -> what conditions each frame (b t num_actions): the one-hot
    action taken at the frame before, zeros for the first."""
    if actions.min() < 0 or actions.max() >= num_actions:
        raise UserError(f"the data has actions {actions.min()}..{actions.max()}; --model.num_actions is {num_actions}")
    return F.pad(F.one_hot(actions[:, :-1], num_actions).float(), (0, 0, 1, 0))


def vector_conditions(actions: Tensor, width: int) -> Tensor:
    """Action vectors taken at each frame (b t width float, e.g. Oasis' 25-dim VPT actions) -> what conditions
    each frame: the vector of the frame before, zeros for the first (as ``action_conditions``)."""
    if actions.shape[-1] != width:
        raise UserError(
            f"the data has {actions.shape[-1]}-dim float actions; the DiT takes {width} (--model.num_actions)"
        )
    return F.pad(actions[:, :-1].float(), (0, 0, 1, 0))


class CheckpointedDiTBlock(DiTBlock):
    """A ``DiTBlock`` whose spatial and temporal sub-blocks keep only their inputs in training and recompute
    their activations in the backward pass (``torch.utils.checkpoint``). ``DiT.forward`` calls the two
    sub-blocks itself (not ``block(...)``), so they are checkpointed one by one; parameter names, the state
    dict and every result stay those of a ``DiTBlock``. Inference (no grad, or eval) runs them plainly."""

    def _checkpointing(self) -> bool:
        return self.training and torch.is_grad_enabled()

    def spatial(self, x: Tensor, c: Tensor, rot) -> Tensor:
        if self._checkpointing():
            return checkpoint(super().spatial, x, c, rot, use_reentrant=False)
        return super().spatial(x, c, rot)

    def temporal(self, x: Tensor, c: Tensor, rot, cache=None, record=None) -> Tensor:
        if self._checkpointing() and cache is None and record is None:
            return checkpoint(super().temporal, x, c, rot, use_reentrant=False)
        return super().temporal(x, c, rot, cache, record)


def checkpoint_activations(dit: DiT) -> DiT:
    """Turn on activation checkpointing for every block of ``dit`` (in place; dit.py is left as published)."""
    for block in dit.blocks:
        block.__class__ = CheckpointedDiTBlock
    return dit


def size_mismatches(wanted: DiTConfig, found: DiTConfig) -> list[str]:
    """The size settings of the module's config that differ from a loaded DiT's, by their option names."""
    names = {"external_cond_dim": "num_actions"}
    return [
        f"{names.get(k, k)} {getattr(found, k)} (the config says {v})"
        for k, v in asdict(wanted).items()
        if getattr(found, k) != v
    ]


class OasisTrainModule(LightningModule):
    """A ``DiT`` in training: its config's fields (flat; ``num_actions`` is the action width), the objective's,
    then the optimizer's (plain numbers only, so checkpoints load with ``weights_only=True``).

    ``init_from``: a DiT in the published layout (a safetensors path or ``hf://`` URL, read by ``load_dit``)
    whose weights the training starts from. Its config comes from the file; the size settings (patch_size
    to num_actions) are *checked* against it, not ignored: a mismatch is a one-line error naming each
    difference, so a config always states the architecture it trains (configs/oasis/finetune_500m.yaml lists
    the 500M's). A run resumed with ``--ckpt_path`` reads ``init_from`` again before the checkpoint's weights
    replace it, so the file must still be there.

    ``activation_checkpointing``: recompute each DiT sub-block's activations in the backward pass
    (``CheckpointedDiTBlock``): less activation memory for a window of 32 frames, for one more forward of
    each sub-block (neither measured yet); the loss and gradients are the same (tests/test_oasis_finetune.py).
    """

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
        init_from: str | None = None,
        activation_checkpointing: bool = False,
    ):
        super().__init__()
        self.save_hyperparameters()
        cfg = DiTConfig(patch_size, in_channels, hidden_size, depth, num_heads, mlp_ratio, num_actions, max_frames)
        if init_from is None:
            self.dit = DiT(cfg)
        else:
            self.dit = load_dit(init_from).train()
            mismatches = size_mismatches(cfg, self.dit.cfg)
            if mismatches:
                raise UserError(
                    f"--model.init_from {init_from}: its DiT has {', '.join(mismatches)}; set the model's sizes to "
                    "the file's"
                )
        if activation_checkpointing:
            checkpoint_activations(self.dit)
        self.objective = DiffusionForcing(
            DiffusionForcingConfig(snr_clip=snr_clip, cum_snr_decay=cum_snr_decay, clean_context=clean_context)
        )

    def conditions(self, actions: Tensor) -> Tensor:
        """Int actions (b t) are one-hot, float ones (b t K) used as they are; both shifted by one frame."""
        if actions.is_floating_point():
            return vector_conditions(actions, self.hparams.num_actions)
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


def export_published_dit(checkpoint: str | Path, output: str | Path, dtype: torch.dtype = torch.float32) -> Path:
    """An ``oasis-train`` checkpoint (or its ``export_trained_dit`` file) -> the DiT in the published layout:
    the DiT's own tensor names (no ``dit.`` prefix), as ``save_model`` writes them with the config in the
    header, so ``load_dit`` and ``oasis-play --dit`` read it. ``dtype`` float16/bfloat16 casts the linear and
    conv weights only; the RoPE frequencies stay float32 (in half precision they would lose ~1e-3)."""
    dit = load_trained_dit(checkpoint)
    if dtype != torch.float32:
        cast_matmul_weights(dit, dtype)
    return save_model(dit, output)
