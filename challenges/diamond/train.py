"""diamond-train: train a DIAMOND agent (world model + reward/end model + policy) on an Atari game.

  diamond-train -c configs/diamond/atari100k.yaml --game Pong --run_dir data/diamond/runs/Pong
  diamond-train -c configs/diamond/atari100k.yaml --run_dir data/diamond/runs/Pong --resume

Checkpoints land in RUN_DIR/checkpoints/agent_versions/ (play one with ``diamond-play --checkpoint``),
TensorBoard and CSV logs in RUN_DIR/tensorboard and RUN_DIR/csv.
"""

import dataclasses

from jsonargparse import ActionConfigFile, ArgumentParser

from worldmodels.core.errors import cli_entry


def build_parser() -> ArgumentParser:
    from worldmodels.diamond.train import TrainConfig

    parser = ArgumentParser(prog="diamond-train", description=__doc__)
    parser.add_argument("-c", "--config", action=ActionConfigFile, help="a YAML config (see configs/diamond/)")
    parser.add_argument("--resume", action="store_true", help="continue the run in run_dir exactly where it stopped")
    parser.add_class_arguments(TrainConfig, nested_key=None, as_group=False)
    return parser


def parse_config(argv: list[str] | None = None):
    """The command line (config files included) -> (TrainConfig, resume)."""
    from worldmodels.diamond.train import TrainConfig

    parser = build_parser()
    args = parser.instantiate(parser.parse_args(argv))
    return TrainConfig(**{f.name: args[f.name] for f in dataclasses.fields(TrainConfig)}), args.resume


@cli_entry
def main(argv: list[str] | None = None) -> None:
    from worldmodels.diamond.train import Trainer

    cfg, resume = parse_config(argv)
    Trainer(cfg, resume=resume).run()


if __name__ == "__main__":
    main()
