"""Training Genie's video tokenizer with Lightning, and loading the trained tokenizer back.

Loss = MSE reconstruction + VQ loss (codebook + 0.25 commitment), as in Jafar; the paper's optional
perceptual and adversarial terms are left out. AdamW with the paper's betas (0.9, 0.9) and weight decay
1e-4, linear warm-up then cosine decay to ``min_lr`` (Table 8 sets min_lr = max_lr = 3e-4, so with the
defaults the rate stays flat after warm-up). Checkpoints carry the tokenizer's config under
``CONFIG_KEY`` so ``load_tokenizer`` can rebuild it without Lightning.
"""

from dataclasses import asdict, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule
from torch import Tensor

from worldmodels.core.checkpoints import build_from_config, load_lightning_checkpoint, with_prefix
from worldmodels.core.errors import UserError
from worldmodels.core.metrics import psnr
from worldmodels.genie.optim import adamw_warmup_cosine
from worldmodels.genie.tokenizer import TokenizerConfig, VideoTokenizer

CONFIG_KEY = "genie_tokenizer_config"
_DEFAULT = TokenizerConfig()


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
        return adamw_warmup_cosine(self.parameters(), self.hparams, self.trainer.estimated_stepping_batches)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[CONFIG_KEY] = asdict(self.tokenizer.cfg)


def load_tokenizer(path: str | Path) -> VideoTokenizer:
    """The trained ``VideoTokenizer`` (eval mode, on CPU) from a genie-tokenizer checkpoint (``.ckpt``)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"{path}: tokenizer checkpoint not found; train one with genie-tokenizer fit -c configs/tokenize.yaml"
        )
    checkpoint = load_lightning_checkpoint(path, CONFIG_KEY, "genie-tokenizer", "genie-tokenizer")
    tensors = with_prefix(checkpoint["state_dict"], "tokenizer")
    return build_from_config(VideoTokenizer, TokenizerConfig, checkpoint[CONFIG_KEY], tensors, str(path)).eval()
