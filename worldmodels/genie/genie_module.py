"""Training Genie's latent action model and dynamics model together, and loading the trained trio back.

As in the paper (section 2.1, Appendix F) the video tokenizer is trained first and frozen; the LAM and the
dynamics model then train in parallel on the same clips. Loss = LAM loss (MSE of the predicted next frames
on pixels + VQ loss) + MaskGIT cross-entropy of the dynamics model on the tokenizer's tokens, conditioned on
the LAM's action codes. The codes are integers, so no gradient flows from the dynamics model into the LAM
(the paper's stop-gradient); the LAM learns only from reconstructing pixels.

The frozen tokenizer rides along in the checkpoint, so a genie checkpoint plays and evaluates on its own;
``CONFIG_KEY`` holds the three models' configs so ``load_genie`` rebuilds them without Lightning.
``export_genie`` turns a checkpoint into one float16 safetensors file (the bundled models' format), which
``load_genie`` reads as well.
"""

from dataclasses import asdict
from pathlib import Path

import torch
from lightning.pytorch import LightningModule
from torch import Tensor

from worldmodels.core.checkpoints import build_from_config, export_trained, read_trained, with_prefix
from worldmodels.core.errors import UserError
from worldmodels.genie.dynamics import DynamicsConfig, DynamicsModel
from worldmodels.genie.latent_action import LatentActionConfig, LatentActionModel
from worldmodels.genie.optim import adamw_warmup_cosine
from worldmodels.genie.tokenizer import TokenizerConfig, VideoTokenizer
from worldmodels.genie.tokenizer_module import load_tokenizer

CONFIG_KEY = "genie_config"
_LAM, _DYNAMICS = LatentActionConfig(), DynamicsConfig()


class GenieModule(LightningModule):
    """LAM + dynamics in training over a frozen tokenizer. Arguments are plain numbers (checkpoints load with
    ``weights_only=True``): the LAM's, the dynamics model's, then the optimizer's (Table 9 of the paper)."""

    def __init__(
        self,
        tokenizer_ckpt_path: str,
        max_frames: int = 16,
        num_actions: int = _LAM.num_codes,
        lam_patch_size: int = _LAM.patch_size,
        lam_dim: int = _LAM.dim,
        lam_depth: int = _LAM.depth,
        lam_heads: int = _LAM.heads,
        lam_latent_dim: int = _LAM.latent_dim,
        lam_dead_code_steps: int = _LAM.dead_code_steps,
        lam_pairwise: bool = _LAM.pairwise,
        dynamics_dim: int = _DYNAMICS.dim,
        dynamics_depth: int = _DYNAMICS.depth,
        dynamics_heads: int = _DYNAMICS.heads,
        dynamics_action_token: bool = _DYNAMICS.action_token,
        full_mask: float = 0.0,
        lr: float = 3e-5,
        min_lr: float = 3e-6,
        warmup_steps: int = 5000,
        betas: tuple[float, float] = (0.9, 0.9),
        weight_decay: float = 1e-4,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.tokenizer = load_tokenizer(tokenizer_ckpt_path).requires_grad_(False)
        tok = self.tokenizer.cfg
        if max_frames > tok.max_frames:
            raise UserError(
                f"--model.max_frames {max_frames}: the tokenizer {tokenizer_ckpt_path} holds at most {tok.max_frames}"
            )
        self.lam = LatentActionModel(
            LatentActionConfig(
                image_size=tok.image_size,
                patch_size=lam_patch_size,
                dim=lam_dim,
                depth=lam_depth,
                heads=lam_heads,
                num_codes=num_actions,
                latent_dim=lam_latent_dim,
                max_frames=max_frames,
                dead_code_steps=lam_dead_code_steps,
                pairwise=lam_pairwise,
            )
        )
        self.dynamics = DynamicsModel(
            DynamicsConfig(
                num_codes=tok.num_codes,
                num_actions=num_actions,
                tokens_per_frame=self.tokenizer.tokens_per_frame,
                dim=dynamics_dim,
                depth=dynamics_depth,
                heads=dynamics_heads,
                max_frames=max_frames,
                action_token=dynamics_action_token,
            )
        )
        self.register_buffer("val_actions_used", torch.zeros(num_actions), persistent=False)

    def train(self, mode: bool = True) -> "GenieModule":
        """The tokenizer stays in eval mode: in training mode its quantiser would re-seed codes."""
        super().train(mode)
        self.tokenizer.eval()
        return self

    def setup(self, stage: str) -> None:
        clip_length = getattr(self.trainer.datamodule, "clip_length", 0)
        if clip_length > self.hparams.max_frames:
            raise UserError(f"--data.clip_length {clip_length}: the model holds at most {self.hparams.max_frames}")

    def step(self, batch: tuple[Tensor, Tensor], split: str) -> tuple[Tensor, Tensor]:
        video, _ = batch
        with torch.no_grad():
            tokens = self.tokenizer.encode(video).flatten(-2)
        reconstruction, actions, lam_loss = self.lam(video)
        dynamics_loss, accuracy = self.dynamics.loss(tokens, actions, full_mask=self.hparams.full_mask)
        loss = lam_loss + dynamics_loss
        metrics = {
            "loss": loss,
            "lam_loss": lam_loss,
            "lam_mse": torch.nn.functional.mse_loss(reconstruction.float(), video[:, 1:]),
            "dynamics_loss": dynamics_loss,
            "masked_accuracy": accuracy,
        }
        if split == "val":
            metrics["action_gain"] = self.action_gain(tokens, actions)
        self.log_dict({f"{split}/{k}": v for k, v in metrics.items()}, prog_bar=split == "train")
        return loss, actions

    @torch.no_grad()
    def action_gain(self, tokens: Tensor, actions: Tensor) -> Tensor:
        """Accuracy of frames 2..t predicted from frame 1 with the LAM's actions minus that with random ones:
        above zero when the latent actions carry next-frame information to the dynamics model."""
        random_actions = torch.randint_like(actions, self.hparams.num_actions)
        inferred = self.dynamics.loss(tokens, actions, mask_rate=(1.0, 1.0))[1]
        return inferred - self.dynamics.loss(tokens, random_actions, mask_rate=(1.0, 1.0))[1]

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        loss, actions = self.step(batch, "train")
        used = torch.zeros(self.hparams.num_actions, device=actions.device).index_fill_(0, actions.flatten(), 1)
        self.log("train/action_usage", used.mean())
        return loss

    def on_validation_epoch_start(self) -> None:
        self.val_actions_used.zero_()

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        _, actions = self.step(batch, "val")
        self.val_actions_used.index_fill_(0, actions.flatten(), 1)

    def on_validation_epoch_end(self) -> None:
        """The fraction of the LAM codebook in use over the whole validation set (collapse shows here)."""
        self.log("val/action_usage", self.val_actions_used.mean())

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self.step(batch, "test")

    def configure_optimizers(self):
        params = [*self.lam.parameters(), *self.dynamics.parameters()]
        return adamw_warmup_cosine(params, self.hparams, self.trainer.estimated_stepping_batches)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[CONFIG_KEY] = {
            "tokenizer": asdict(self.tokenizer.cfg),
            "lam": asdict(self.lam.cfg),
            "dynamics": asdict(self.dynamics.cfg),
        }


def read_checkpoint(path: Path) -> tuple[dict, dict]:
    """(configs, state dict) of a ``genie fit`` checkpoint or an ``export_genie`` safetensors file."""
    return read_trained(path, CONFIG_KEY, "genie", "genie fit -c configs/genie.yaml")


def export_genie(checkpoint: str | Path, output: str | Path, dtype: torch.dtype = torch.float16) -> Path:
    """A ``genie fit`` checkpoint -> one safetensors file with the tokenizer, LAM and dynamics model (half the
    size in float16, which is how the bundled model ships) and their configs in the header."""
    return export_trained(*read_checkpoint(Path(checkpoint)), CONFIG_KEY, output, dtype)


def load_genie(
    path: str | Path, tokenizer_path: str | Path | None = None
) -> tuple[VideoTokenizer, LatentActionModel, DynamicsModel]:
    """(tokenizer, LAM, dynamics model) in eval mode on CPU from a ``genie fit`` checkpoint or an exported
    ``.safetensors``, in float32. The tokenizer is the stored one unless ``tokenizer_path`` (a genie-tokenizer
    checkpoint) replaces it."""
    path = Path(path)
    configs, tensors = read_checkpoint(path)

    def build(name: str, model_cls, config_cls):
        return build_from_config(
            model_cls,
            config_cls,
            configs.get(name) if isinstance(configs, dict) else None,
            with_prefix(tensors, name),
            f"{path} [{name}]",
        ).eval()

    lam = build("lam", LatentActionModel, LatentActionConfig)
    dynamics = build("dynamics", DynamicsModel, DynamicsConfig)
    if tokenizer_path is None:
        tokenizer = build("tokenizer", VideoTokenizer, TokenizerConfig)
    else:
        tokenizer = load_tokenizer(tokenizer_path)
        if (tokenizer.cfg.num_codes, tokenizer.tokens_per_frame) != (
            dynamics.cfg.num_codes,
            dynamics.cfg.tokens_per_frame,
        ):
            raise UserError(
                f"{tokenizer_path}: this tokenizer makes {tokenizer.tokens_per_frame} tokens per frame from "
                f"{tokenizer.cfg.num_codes} codes; the genie model {path} needs {dynamics.cfg.tokens_per_frame} "
                f"from {dynamics.cfg.num_codes}"
            )
    return tokenizer, lam, dynamics
