"""oasis-generate: a video from a prompt frame and an action file, like open-oasis' generate.py (but faster)."""

import argparse
from pathlib import Path

from challenges.oasis.common import action_script, add_model_arguments, check_model_arguments, load_models
from worldmodels.core.errors import UserError, cli_entry


@cli_entry
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="oasis-generate", description=__doc__)
    parser.add_argument("--actions", required=True, help="a .actions.pt or .one_hot_actions.pt file")
    parser.add_argument("--num-frames", type=int, default=32, help="frames in the video, prompt included")
    parser.add_argument("--output", type=Path, default=Path("video.mp4"), help="MP4 or GIF to write")
    parser.add_argument("--fps", type=float, default=20)
    add_model_arguments(parser)
    args = parser.parse_args(argv)
    if args.num_frames <= args.n_prompt_frames:
        parser.error(f"--num-frames must exceed --n-prompt-frames ({args.n_prompt_frames})")
    if args.fps <= 0:
        parser.error(f"--fps must be positive, got {args.fps}")

    from rich.progress import track

    from worldmodels.core.video import VideoWriter, check_writable

    check_writable(args.output)
    check_model_arguments(args)
    actions = action_script(args.actions, args.video_offset)[None]  # 1 x (N + 1) x 25, the zero action first
    if actions.shape[1] < args.num_frames:
        raise UserError(f"{args.actions}: {actions.shape[1] - 1} actions, --num-frames {args.num_frames} needs more")
    sampler, prompt = load_models(args)
    with VideoWriter(args.output, args.fps) as writer:
        frames = sampler.video(prompt, actions, args.num_frames)
        for frame in track(frames, total=args.num_frames, description="generating"):
            writer.write(frame)
    print(f"wrote {args.output} ({args.num_frames} frames)")


if __name__ == "__main__":
    main()
