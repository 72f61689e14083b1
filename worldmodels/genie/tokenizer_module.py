"""Training Genie's video tokenizer with Lightning, and loading the trained tokenizer back.

Loss = MSE reconstruction + VQ loss (codebook + 0.25 commitment), as in Jafar; the paper's optional
perceptual and adversarial terms are left out. AdamW with the paper's betas (0.9, 0.9) and weight decay
1e-4, linear warm-up then cosine decay to ``min_lr`` (Table 8 sets min_lr = max_lr = 3e-4, so with the
defaults the rate stays flat after warm-up). Checkpoints carry the tokenizer's config under
``CONFIG_KEY`` so ``load_tokenizer`` can rebuild it without Lightning.
"""

import math
from dataclasses import asdict, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule
from torch import Tensor

from worldmodels.core.checkpoints import load_strict, with_prefix
from worldmodels.core.errors import UserError
from worldmodels.core.metrics import psnr
from worldmodels.genie.tokenizer import TokenizerConfig, VideoTokenizer

CONFIG_KEY = "genie_tokenizer_config"
_DEFAULT = TokenizerConfig()


def warmup_cosine(step: int, warmup_steps: int, total_steps: int, min_ratio: float) -> float:
    """Learning-rate factor: linear from 0 to 1 over ``warmup_steps``, then cosine down to ``min_ratio``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class TokenizerModule(LightningModule):
    """A ``VideoTokenizer`` in training: the arguments are ``TokenizerConfig``'s fields, flat, then the optimizer's
    (plain numbers only, so checkpoints load with ``weights_only=True``)."""

    def __init__(
        self,
        image_size: int = _DEFAULT.image_size,
        patch_size: int = _DEFAULT.patch_size,
        dim: int = _DEFAULT.dim,
        encoder_depth: int = _DEFAULT.encoder_depth,
        decoder_depth: int = _DEFAULT.decoder_depth,
        heads: int = _DEFAULT.heads,
        latent_dim: int = _DEFAULT.latent_dim,
        num_codes: int = _DEFAULT.num_codes,
        max_frames: int = _DEFAULT.max_frames,
        lr: float = 3e-4,
        min_lr: float = 3e-4,
        warmup_steps: int = 10_000,
        betas: tuple[float, float] = (0.9, 0.9),
        weight_decay: float = 1e-4,
    ):
        super().__init__()
        self.save_hyperparameters()
        cfg = TokenizerConfig(**{f.name: self.hparams[f.name] for f in fields(TokenizerConfig)})
        self.tokenizer = VideoTokenizer(cfg)
        self.register_buffer("val_codes_used", torch.zeros(num_codes), persistent=False)

    def step(self, batch: tuple[Tensor, Tensor], split: str) -> tuple[Tensor, Tensor]:
        video, _ = batch
        reconstruction, indices, vq_loss = self.tokenizer(video)
        mse = F.mse_loss(reconstruction.float(), video)
        loss = mse + vq_loss
        metrics = {"loss": loss, "mse": mse, "vq_loss": vq_loss, "psnr": psnr(reconstruction, video)}
        self.log_dict({f"{split}/{k}": v for k, v in metrics.items()}, prog_bar=split == "train")
        return loss, indices

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        loss, indices = self.step(batch, "train")
        used = torch.zeros(self.hparams.num_codes, device=indices.device).index_fill_(0, indices.flatten(), 1)
        self.log("train/codebook_usage", used.mean())  # index_fill_, unlike unique or bincount, needs no GPU sync
        return loss

    def on_validation_epoch_start(self) -> None:
        self.val_codes_used.zero_()

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        _, indices = self.step(batch, "val")
        self.val_codes_used.index_fill_(0, indices.flatten(), 1)

    def on_validation_epoch_end(self) -> None:
        """Codebook usage over the whole validation set (a batch alone under-counts a large codebook)."""
        self.log("val/codebook_usage", self.val_codes_used.mean())

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self.step(batch, "test")

    def configure_optimizers(self):
        hp = self.hparams
        optimizer = torch.optim.AdamW(self.parameters(), lr=hp.lr, betas=tuple(hp.betas), weight_decay=hp.weight_decay)
        total = self.trainer.estimated_stepping_batches
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: warmup_cosine(step, hp.warmup_steps, total, hp.min_lr / hp.lr)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[CONFIG_KEY] = asdict(self.tokenizer.cfg)


def load_tokenizer(path: str | Path) -> VideoTokenizer:
    """The trained ``VideoTokenizer`` (eval mode, on CPU) from a genie-tokenizer checkpoint (``.ckpt``)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"{path}: tokenizer checkpoint not found; train one with genie-tokenizer fit -c configs/tokenize.yaml"
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle, zip and EOF errors from a foreign or truncated file
        raise UserError(f"{path}: not a readable checkpoint ({type(e).__name__})") from None
    if not isinstance(checkpoint, dict) or CONFIG_KEY not in checkpoint or "state_dict" not in checkpoint:
        raise UserError(
            f"{path}: not a genie-tokenizer checkpoint (no {CONFIG_KEY!r}); pass a .ckpt from genie-tokenizer"
        )
    tokenizer = VideoTokenizer(TokenizerConfig(**checkpoint[CONFIG_KEY]))
    load_strict(tokenizer, with_prefix(checkpoint["state_dict"], "tokenizer"), str(path))
    return tokenizer.eval()
