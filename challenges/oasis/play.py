"""oasis-play: play Oasis 500M live: keyboard and mouse in, generated Minecraft frames out; or, with
--checkpoint, a small Oasis-architecture model of a procgen game trained by oasis-train."""

import argparse
from pathlib import Path

from challenges.oasis.common import action_script, add_model_arguments, check_model_arguments, load_models
from worldmodels.core.errors import UserError, cli_entry
from worldmodels.play.cli import add_play_arguments, parse_play_args, run_play


@cli_entry
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="oasis-play", description=__doc__)
    add_model_arguments(parser)
    parser.add_argument("--sensitivity", type=float, default=0.15, help="camera degrees per pixel of mouse motion")
    parser.add_argument("--actions", help="with --headless: replay this action file instead of a random walk")
    game = parser.add_argument_group("a model of your own (oasis-train)")
    game.add_argument("--checkpoint", help="an oasis-train .ckpt (a procgen game in pixel space)")
    game.add_argument("--root", type=Path, help="its data folder: the first test frame starts play (default: ./data)")
    game.add_argument("--env_name", default="coinrun", help="its procgen game (default: coinrun)")
    add_play_arguments(parser, default_fps=20)
    args = parse_play_args(parser, argv)
    check_model_arguments(args)
    if args.checkpoint:
        play_own_model(args)
        return
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


def play_own_model(args: argparse.Namespace) -> None:
    """The small model of a procgen game that ``oasis-train`` trained, from a real frame of its data."""
    given = [flag for flag in ("dit", "vae", "prompt", "actions") if getattr(args, flag) is not None]
    if given:
        raise UserError(f"--checkpoint plays a model of your own: drop --{', --'.join(given)}")

    import torch

    from challenges.genie.play import default_prompt
    from worldmodels.core.device import pick_device
    from worldmodels.oasis.game_play import OasisGameBackend
    from worldmodels.oasis.sampler import OasisSampler
    from worldmodels.oasis.train_module import load_trained_dit

    torch.manual_seed(args.seed)
    dit = load_trained_dit(args.checkpoint, pick_device(args.device))
    first = default_prompt(args.root, args.env_name, args.seed)  # 3 x h x w in [-1, 1]
    prompt = ((first + 1) * 127.5).round().clamp(0, 255).byte().permute(1, 2, 0).numpy()
    sampler = OasisSampler(dit, None, ddim_steps=args.ddim_steps, use_cache=not args.no_cache, half=not args.fp32)
    run_play(OasisGameBackend(sampler, prompt), args)


if __name__ == "__main__":
    main()
