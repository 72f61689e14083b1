"""diamond-train: train a DIAMOND agent (world model + reward/end model + policy) on an Atari game or any
gymnasium game with discrete actions, from the play it collects and/or from recorded play (--data FOLDER).

  diamond-train -c configs/diamond/atari100k.yaml --game Pong --run_dir data/diamond/runs/Pong
  diamond-train -c configs/diamond/atari100k.yaml --run_dir data/diamond/runs/Pong --resume
  diamond-train -c configs/diamond/tiny.yaml --game CartPole-v1 --run_dir data/diamond/runs/cartpole

Checkpoints land in RUN_DIR/checkpoints/agent_versions/ (play one with ``diamond-play --checkpoint``),
TensorBoard and CSV logs in RUN_DIR/tensorboard and RUN_DIR/csv.
"""

import dataclasses
from pathlib import Path

from jsonargparse import ActionConfigFile, ArgumentParser
from jsonargparse.typing import Path_fr

from worldmodels.core.errors import cli_entry


def build_parser() -> ArgumentParser:
    from worldmodels.diamond.train import TrainConfig

    parser = ArgumentParser(prog="diamond-train", description=__doc__, exit_on_error=False)
    parser.add_argument("-c", "--config", action=ActionConfigFile, help="a YAML config (see configs/diamond/)")
    parser.add_argument("--resume", action="store_true", help="continue the run in run_dir exactly where it stopped")
    parser.add_class_arguments(TrainConfig, nested_key=None, as_group=False, skip={"agent_config"})
    # a path in a config file is relative to that file (so -c works from any folder), on the command line to
    # the working directory: jsonargparse's Path types do both
    parser.add_argument("--agent_config", type=Path_fr | None, help="the agent architecture (YAML)")
    return parser


def parse_config(argv: list[str] | None = None):
    """The command line (config files included) -> (TrainConfig, resume)."""
    from worldmodels.diamond.train import TrainConfig

    parser = build_parser()
    args = parser.instantiate(parser.parse_args(argv))
    values = {f.name: args[f.name] for f in dataclasses.fields(TrainConfig)}
    if values["agent_config"] is not None:
        values["agent_config"] = Path(values["agent_config"].absolute)
    return TrainConfig(**values), args.resume


@cli_entry
def main(argv: list[str] | None = None) -> None:
    from worldmodels.diamond.train import Trainer

    cfg, resume = parse_config(argv)
    Trainer(cfg, resume=resume).run()


if __name__ == "__main__":
    main()
