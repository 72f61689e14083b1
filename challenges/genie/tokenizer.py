"""genie-tokenizer: train Genie's video tokenizer (an ST-ViViT VQ-VAE) on procgen clips with LightningCLI.

  genie-tokenizer fit -c configs/tokenize.yaml                        # the paper's CoinRun tokenizer, one GPU
  genie-tokenizer fit -c configs/tiny/tokenize.yaml                   # a tiny model, a CPU smoke run
  genie-tokenizer fit -c configs/tokenize.yaml --trainer.max_steps 10 --data.root data
  genie-tokenizer fit -c configs/tokenize.yaml --ckpt_path data/log/tokenizer/version_0/checkpoints/last.ckpt
  genie-tokenizer fit -c configs/tokenize.yaml --print_config         # every option, with its value

Data comes from <root>/<env_name>/train and val (genie-sample, then genie-split). TensorBoard and CSV logs
and checkpoints land in data/log/tokenizer/version_N/ (relative to the working directory).
"""

from pathlib import Path

from lightning.pytorch.cli import ArgsType, LightningCLI

from worldmodels.core.errors import cli_entry
from worldmodels.genie.data import GenieDataModule
from worldmodels.genie.tokenizer_module import TokenizerModule

LOG_DIR = "data/log/tokenizer"
TRAINER_DEFAULTS = {
    "default_root_dir": LOG_DIR,
    "logger": [
        {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": LOG_DIR, "name": ""}},
        {"class_path": "lightning.pytorch.loggers.TensorBoardLogger", "init_args": {"save_dir": LOG_DIR, "name": ""}},
    ],
    # checkpoints/last.ckpt: the newest state (resume with --ckpt_path); checkpoints/best.ckpt: the best val PSNR.
    # One callback cannot do both: with a monitor, Lightning rewrites last.ckpt only when the metric improves.
    "callbacks": [
        {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": {"save_last": "link"}},
        {
            "class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
            "init_args": {"monitor": "val/psnr", "mode": "max", "filename": "best"},
        },
        {"class_path": "lightning.pytorch.callbacks.LearningRateMonitor"},
        {"class_path": "lightning.pytorch.callbacks.RichProgressBar"},
    ],
}


class TokenizerCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        """Default trainer settings as parser defaults, so a config's callbacks replace ours (LightningCLI's
        trainer_defaults would always add its callbacks, listed nowhere in --print_config)."""
        parser.set_defaults({f"trainer.{k}": v for k, v in TRAINER_DEFAULTS.items()})

    def before_instantiate_classes(self) -> None:
        """One version_N folder per run for every logger (each would count its own N and the two would differ)."""
        loggers = self.config[self.subcommand].trainer.logger
        loggers = [lg for lg in loggers if "version" in lg.init_args] if isinstance(loggers, list) else []
        if not loggers or any(lg.init_args.version is not None for lg in loggers):
            return
        run_dir = Path(loggers[0].init_args.save_dir) / loggers[0].init_args.name
        taken = [int(n) for p in run_dir.glob("version_*") if (n := p.name.removeprefix("version_")).isdigit()]
        for logger in loggers:
            logger.init_args.version = f"version_{max(taken, default=-1) + 1}"


@cli_entry
def main(argv: ArgsType = None) -> None:
    TokenizerCLI(
        TokenizerModule,
        GenieDataModule,
        args=argv,
        save_config_kwargs={"overwrite": True},
        parser_kwargs={"prog": "genie-tokenizer", "description": __doc__.splitlines()[0]},
    )


if __name__ == "__main__":
    main()
