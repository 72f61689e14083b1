"""oasis-play: play Oasis 500M live: keyboard and mouse in, generated Minecraft frames out."""

import argparse

from challenges.oasis.common import action_script, add_model_arguments, check_model_arguments, load_models
from worldmodels.core.errors import UserError, cli_entry
from worldmodels.play.cli import add_play_arguments, parse_play_args, run_play


@cli_entry
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="oasis-play", description=__doc__)
    add_model_arguments(parser)
    parser.add_argument("--sensitivity", type=float, default=0.15, help="camera degrees per pixel of mouse motion")
    parser.add_argument("--actions", help="with --headless: replay this action file instead of a random walk")
    add_play_arguments(parser, default_fps=20)
    args = parse_play_args(parser, argv)
    check_model_arguments(args)
    if args.actions and not args.headless:
        raise UserError("--actions replays a file in a headless run: add --headless --frames N --out FILE.mp4")

    from worldmodels.oasis.play import OasisBackend

    script = action_script(args.actions, args.video_offset) if args.actions else None
    if script is not None and len(script) < args.n_prompt_frames + args.frames:
        raise UserError(
            f"{args.actions}: {len(script) - 1} actions from frame {args.video_offset}; --frames {args.frames} after "
            f"{args.n_prompt_frames} prompt frame(s) needs {args.n_prompt_frames + args.frames - 1}"
        )
    sampler, prompt = load_models(args)
    run_play(OasisBackend(sampler, prompt, args.sensitivity, script), args)


if __name__ == "__main__":
    main()
