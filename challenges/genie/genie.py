"""genie: train Genie's latent action model and dynamics model jointly over a frozen tokenizer, with LightningCLI.

  genie fit -c configs/genie.yaml --model.tokenizer_ckpt_path data/log/tokenizer/version_0/checkpoints/last.ckpt
  genie fit -c configs/tiny/genie.yaml --model.tokenizer_ckpt_path T.ckpt --data.root data   # a CPU smoke run
  genie fit -c configs/genie.yaml --model.tokenizer_ckpt_path T.ckpt --trainer.max_steps 10
  genie fit -c configs/genie.yaml --ckpt_path data/log/genie/version_0/checkpoints/last.ckpt
  genie fit -c configs/genie.yaml --print_config         # every option, with its value

Data comes from <root>/<env_name>/train and val (genie-sample, then genie-split); the tokenizer from
genie-tokenizer. TensorBoard and CSV logs and checkpoints land in data/log/genie/version_N/ (relative to the
working directory). Play a checkpoint with genie-play, measure it with genie-eval.
"""

from lightning.pytorch.cli import ArgsType

from challenges.genie.tokenizer import TokenizerCLI
from worldmodels.core.errors import cli_entry
from worldmodels.genie.data import GenieDataModule
from worldmodels.genie.genie_module import GenieModule

LOG_DIR = "data/log/genie"
TRAINER_DEFAULTS = {
    "default_root_dir": LOG_DIR,
    "logger": [
        {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": LOG_DIR, "name": ""}},
        {"class_path": "lightning.pytorch.loggers.TensorBoardLogger", "init_args": {"save_dir": LOG_DIR, "name": ""}},
    ],
    # checkpoints/last.ckpt: the newest state (resume with --ckpt_path); checkpoints/best.ckpt: the lowest val loss.
    "callbacks": [
        {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": {"save_last": "link"}},
        {
            "class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
            "init_args": {"monitor": "val/loss", "mode": "min", "filename": "best"},
        },
        {"class_path": "lightning.pytorch.callbacks.LearningRateMonitor"},
        {"class_path": "lightning.pytorch.callbacks.RichProgressBar"},
    ],
}


class GenieCLI(TokenizerCLI):
    """genie-tokenizer's CLI (one version_N folder shared by both loggers) with Genie's log folder."""

    def add_arguments_to_parser(self, parser) -> None:
        parser.set_defaults({f"trainer.{k}": v for k, v in TRAINER_DEFAULTS.items()})


@cli_entry
def main(argv: ArgsType = None) -> None:
    GenieCLI(
        GenieModule,
        GenieDataModule,
        args=argv,
        save_config_kwargs={"overwrite": True},
        parser_kwargs={"prog": "genie", "description": __doc__.splitlines()[0]},
    )


if __name__ == "__main__":
    main()
