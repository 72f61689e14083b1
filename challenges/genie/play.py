"""genie-play: play a trained Genie from one image, choosing latent actions live or from a list.

  genie-play --checkpoint G.ckpt --image frame.png --output out.mp4 --actions 0,3,3,5   # a 5-frame video
  genie-play --checkpoint G.ckpt --output out.mp4            # first frame of a test episode, 15 random actions
  genie-play --checkpoint G.ckpt                             # the play window: hold 1-8 to choose the action
  genie-play --checkpoint G.ckpt --headless --frames 100 --out run.mp4   # random latent actions, no window
  genie-play --pretrained                                    # the small CoinRun model bundled with the package

The tokenizer stored in the genie checkpoint is used unless --tokenizer_checkpoint replaces it. Without
--image the prompt is the first frame of a test episode (under --root, or ./data), else of a fresh level.
"""

import argparse
from pathlib import Path

from worldmodels.core.errors import UserError, cli_entry
from worldmodels.play.cli import add_play_arguments, parse_play_args, run_play

DEFAULT_NUM_ACTIONS = 15  # without --actions: 16 frames, the paper's sequence length
# MaskGIT steps: the paper's 25 for videos; 4 in the window, 3x faster (12 vs 4 frames/s on one CPU thread) with
# the bundled model's ΔtPSNR unchanged within its error (scripts/bench_genie_play.py, docs/benchmarks.md).
VIDEO_STEPS, PLAY_STEPS = 25, 4


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genie-play", description=__doc__.splitlines()[0])
    group = parser.add_argument_group("model")
    which = group.add_mutually_exclusive_group(required=True)
    which.add_argument("--checkpoint", type=Path, help="a .ckpt from genie fit (or an exported .safetensors)")
    which.add_argument(
        "-p",
        "--pretrained",
        action="store_true",
        help="the small CoinRun model bundled with the package (no Genie CoinRun weights are published)",
    )
    group.add_argument(
        "--tokenizer_checkpoint", type=Path, help="a .ckpt from genie-tokenizer (default: the stored one)"
    )
    group.add_argument("--image", type=Path, help="PNG/JPEG prompt, resized (default: see --root)")
    group.add_argument(
        "--root", type=Path, help="prompt from this data folder's test split (default: ./data's, else a fresh level)"
    )
    group.add_argument("--env_name", default="coinrun", help="procgen game of the default prompt (default: coinrun)")
    group.add_argument(
        "--steps",
        type=int,
        help=f"MaskGIT steps per frame (default: {PLAY_STEPS} in the play app, where speed matters and the bundled "
        f"model keeps its control; {VIDEO_STEPS} for --output, as the paper)",
    )
    group.add_argument("--temperature", type=float, default=1.0, help="sampling temperature; 0 = greedy")
    group.add_argument("--default_action", type=int, default=0, help="latent action while no number key is held")
    group.add_argument("--seed", type=int, default=0, help="sampling (and random --actions) seed")
    group.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    group = parser.add_argument_group("video file")
    group.add_argument("--output", type=Path, help="write the video here (MP4/GIF) instead of opening the window")
    group.add_argument("--actions", help=f"latent action ids, e.g. 0,3,3,5 (default: {DEFAULT_NUM_ACTIONS} random)")
    add_play_arguments(parser, default_fps=10)
    return parser


def parse_actions(text: str) -> list[int]:
    try:
        actions = [int(a) for a in text.split(",")]
    except ValueError:
        raise UserError(f"--actions {text!r}: expected comma-separated latent action ids such as 0,3,3,5") from None
    if any(a < 0 for a in actions):
        raise UserError(f"--actions {text!r}: latent action ids are not negative")
    return actions


def check_action(flag: str, action: int, num_actions: int) -> None:
    if not 0 <= action < num_actions:
        raise UserError(f"{flag} {action}: this model has {num_actions} latent actions (0-{num_actions - 1})")


def default_prompt(root: Path | None, env_name: str, seed: int):
    """Frame 0 of the first test episode under ``root`` (which must have one), or when no root is given under
    ./data if it has one, else of a fresh procgen level: 3 x h x w in [-1, 1]."""
    from worldmodels.data.episodes import EpisodeDataset
    from worldmodels.envs.procgen import first_frame, resolve_game
    from worldmodels.genie.data import GenieDataModule, load_episode, to_video

    if root is None and len(EpisodeDataset(Path("data") / resolve_game(env_name) / "test")) == 0:
        return to_video(first_frame(env_name, seed)[None])[0]
    paths = GenieDataModule(str(root or "data"), env_name, clip_length=1).split("test").paths
    return to_video(load_episode(paths[0]).obs[:1])[0]


@cli_entry
def main(argv: list[str] | None = None) -> None:
    args = parse_play_args(build_parser(), argv)
    if args.steps is None:
        args.steps = VIDEO_STEPS if args.output is not None else PLAY_STEPS
    if args.steps < 1:
        raise UserError(f"--steps {args.steps}: must be at least 1")
    if args.temperature < 0:
        raise UserError(f"--temperature {args.temperature}: must not be negative")
    actions = parse_actions(args.actions) if args.actions else None
    if args.image is not None and not args.image.is_file():
        raise UserError(f"--image {args.image}: file not found")

    import torch

    from worldmodels.core.device import pick_device
    from worldmodels.genie.generate import GenieWorld, generate_video, load_prompt
    from worldmodels.genie.genie_module import load_genie

    device = pick_device(args.device)
    if args.pretrained:
        from worldmodels.pretrained import GENIE_COINRUN, model_card

        args.checkpoint = GENIE_COINRUN
        print(f"playing the bundled small CoinRun model {GENIE_COINRUN.name} (see {model_card(GENIE_COINRUN)})")
    tokenizer, _, dynamics = load_genie(args.checkpoint, args.tokenizer_checkpoint)
    tokenizer, dynamics = tokenizer.to(device), dynamics.to(device)
    num_actions = dynamics.cfg.num_actions
    for action in actions or []:
        check_action("--actions", action, num_actions)
    check_action("--default_action", args.default_action, num_actions)
    size = tokenizer.cfg.image_size
    first = load_prompt(args.image, size) if args.image else default_prompt(args.root, args.env_name, args.seed)
    first = first.to(device)
    generator = torch.Generator(device).manual_seed(args.seed)

    if args.output is None:
        from worldmodels.genie.play import GenieBackend

        world = GenieWorld(tokenizer, dynamics, args.steps, args.temperature, generator)
        run_play(GenieBackend(world, first, args.default_action), args)
        return

    from worldmodels.core.video import to_hwc_uint8, write_video

    if actions is None:
        actions = torch.randint(num_actions, (DEFAULT_NUM_ACTIONS,), generator=torch.Generator().manual_seed(args.seed))
        actions = actions.tolist()
    video = generate_video(
        tokenizer, dynamics, first, torch.tensor(actions, device=device), args.steps, args.temperature, generator
    )
    path = write_video(args.output, to_hwc_uint8(video), fps=args.fps)
    print(f"wrote {path}: {len(video)} frames at {args.fps:g} fps, latent actions {','.join(map(str, actions))}")


if __name__ == "__main__":
    main()
