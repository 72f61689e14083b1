"""episodes-import: gameplay videos (MP4 + one action per frame) as episode files for training.

Every ``*.mp4`` under SOURCE needs one action file beside it with the same stem: ``<stem>.actions.npy`` (1-D
integers), ``<stem>.actions.pt`` (a 1-D integer tensor) or ``<stem>.one_hot_actions.pt`` (T x K, one 1 per
row); ``<stem>.rewards.npy`` is optional. Each video becomes one ``episode_<n>.npz`` in DEST with frames
resized to --size; ``diamond-train --data DEST`` trains on them. Every video is checked before DEST changes.
"""

import argparse
from pathlib import Path

from worldmodels.core.errors import cli_entry
from worldmodels.data.video_import import import_videos


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="episodes-import", description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder of .mp4 videos and their action files")
    parser.add_argument("dest", type=Path, help="folder of episode files to write (added after any already there)")
    parser.add_argument("--size", type=int, default=64, help="frames are resized to size x size (default: 64)")
    parser.add_argument("--num_actions", type=int, help="the game's number of actions: each must be below it")
    return parser


@cli_entry
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)

    def progress(video: Path, frames: int) -> None:
        print(f"{video}: {frames} frames", flush=True)

    episodes, frames = import_videos(args.source, args.dest, args.size, args.num_actions, progress)
    print(f"wrote {episodes} episodes ({frames} frames) to {args.dest}")


if __name__ == "__main__":
    main()
