"""oasis-play: play Oasis 500M live: keyboard and mouse in, generated Minecraft frames out."""

import argparse

from challenges.oasis.common import add_model_arguments, load_models
from worldmodels.core.errors import cli_entry
from worldmodels.play.cli import add_play_arguments, parse_play_args, run_play


@cli_entry
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="oasis-play", description=__doc__)
    add_model_arguments(parser)
    parser.add_argument("--sensitivity", type=float, default=0.15, help="camera degrees per pixel of mouse motion")
    parser.add_argument("--actions", help="with --headless: replay this action file instead of a random walk")
    add_play_arguments(parser, default_fps=20)
    args = parse_play_args(parser, argv)

    from worldmodels.oasis.actions import load_actions
    from worldmodels.oasis.play import OasisBackend

    script = load_actions(args.actions)[1:] if args.actions else None
    sampler, prompt = load_models(args)
    run_play(OasisBackend(sampler, prompt, args.sensitivity, script), args)


if __name__ == "__main__":
    main()
