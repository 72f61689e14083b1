"""The LightningCLI that ``genie-tokenizer`` and ``genie`` share: trainer defaults and one log folder per run."""

from pathlib import Path

from lightning.pytorch.cli import ArgsType, LightningCLI

from worldmodels.genie.data import GenieDataModule


def trainer_defaults(log_dir: str, monitor: str, mode: str) -> dict:
    """TensorBoard + CSV logs and checkpoints in ``log_dir``; ``checkpoints/last.ckpt`` is the newest state
    (resume with --ckpt_path) and ``checkpoints/best.ckpt`` the best ``monitor``. One callback cannot do both:
    with a monitor, Lightning rewrites last.ckpt only when the metric improves."""
    return {
        "default_root_dir": log_dir,
        "logger": [
            {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": log_dir, "name": ""}},
            {
                "class_path": "lightning.pytorch.loggers.TensorBoardLogger",
                "init_args": {"save_dir": log_dir, "name": ""},
            },
        ],
        "callbacks": [
            {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": {"save_last": "link"}},
            {
                "class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                "init_args": {"monitor": monitor, "mode": mode, "filename": "best"},
            },
            {"class_path": "lightning.pytorch.callbacks.LearningRateMonitor"},
            {"class_path": "lightning.pytorch.callbacks.RichProgressBar"},
        ],
    }


class GenieCLI(LightningCLI):
    def __init__(self, *args, trainer_settings: dict, **kwargs):
        self.trainer_settings = trainer_settings
        super().__init__(*args, **kwargs)

    def add_arguments_to_parser(self, parser) -> None:
        """Default trainer settings as parser defaults, so a config's callbacks replace ours (LightningCLI's
        trainer_defaults would always add its callbacks, listed nowhere in --print_config)."""
        parser.set_defaults({f"trainer.{k}": v for k, v in self.trainer_settings.items()})

    def before_fit(self) -> None:
        """Check the data folders now: a bad --data.root must not leave an empty version_N log folder behind."""
        self.datamodule.setup("fit")

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


def run_genie_cli(module_class: type, argv: ArgsType, prog: str, doc: str, log_dir: str, monitor: str, mode: str):
    """``prog fit -c config.yaml ...`` for ``module_class`` on procgen clips; the first line of ``doc`` is the
    description in --help."""
    GenieCLI(
        module_class,
        GenieDataModule,
        args=argv,
        save_config_kwargs={"overwrite": True},
        # errors raise (cli_entry prints their one line) instead of printing the usage of every option first
        parser_kwargs={"prog": prog, "description": doc.splitlines()[0], "exit_on_error": False}
        | {subcommand: {"exit_on_error": False} for subcommand in LightningCLI.subcommands()},
        trainer_settings=trainer_defaults(log_dir, monitor=monitor, mode=mode),
    )
