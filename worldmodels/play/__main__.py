"""``python -m worldmodels.play --env ALE/Breakout-v5``: play a real Atari game in the shared app."""

import argparse

from worldmodels.core.errors import cli_entry
from worldmodels.play.cli import add_play_arguments, parse_play_args, run_play


@cli_entry
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m worldmodels.play", description=__doc__)
    parser.add_argument("--env", default="ALE/Breakout-v5", help="gymnasium Atari id (ale-py)")
    parser.add_argument("--seed", type=int, default=None)
    add_play_arguments(parser)
    args = parse_play_args(parser, argv)
    from worldmodels.play.atari import AtariBackend

    run_play(AtariBackend(args.env, seed=args.seed), args)


if __name__ == "__main__":
    main()
