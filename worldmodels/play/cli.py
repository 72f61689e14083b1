"""Command-line options every play command shares, and the code that runs a backend with them."""

import argparse
import os
import sys
from pathlib import Path

from worldmodels.core.errors import UserError
from worldmodels.core.video import check_writable
from worldmodels.play.address import parse_address
from worldmodels.play.backend import Backend


def add_play_arguments(parser: argparse.ArgumentParser, default_fps: float | None = None) -> None:
    group = parser.add_argument_group("play window")
    group.add_argument("--size", type=int, default=None, help="display width of the frame in pixels")
    group.add_argument("--fps", type=float, default=default_fps, help="target frames per second")
    group.add_argument("--no-header", action="store_true", help="hide the HUD above the frame")
    group.add_argument("--fullscreen", action="store_true", help="fill the screen (windowed by default)")
    group.add_argument("--out-dir", type=Path, default=Path("data/play"), help="screenshots and recordings")
    group.add_argument("--headless", action="store_true", help="no window: play --frames steps into --out")
    group.add_argument("--frames", type=int, default=None, help="steps to play with --headless (100)")
    group.add_argument("--out", type=Path, default=None, help="MP4/GIF to write with --headless")
    group.add_argument(
        "--web",
        metavar="[HOST:]PORT",
        help="play in a browser instead of a window (a GPU box without a display: ssh -L PORT:localhost:PORT)",
    )


def has_display() -> bool:
    """Is there a screen for a window? On Linux only with an X11 or Wayland display."""
    return sys.platform != "linux" or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def parse_play_args(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    """Parse, and reject flag combinations the play app cannot honour before anything heavy loads.

    A command that writes its own file instead of opening the window (``genie-play --output``) needs no display.
    """
    args = parser.parse_args(argv)
    if args.web is not None:
        if args.headless or getattr(args, "output", None) is not None:
            parser.error("--web plays in a browser: it does not go with --headless or --output")
        try:
            args.web = parse_address(args.web)
        except UserError as e:
            parser.error(str(e))
    if args.headless and args.out is None:
        parser.error("--headless needs --out FILE.mp4 (the video it writes)")
    writes_file = getattr(args, "output", None) is not None
    if not args.headless and (args.frames is not None or args.out is not None):
        why = "--output writes its own video" if writes_file else "the window plays until you quit"
        parser.error(f"--frames and --out go with --headless ({why})")
    if not (args.headless or writes_file or args.web or os.environ.get("SDL_VIDEODRIVER") or has_display()):
        parser.error("no display to open a window on: play headless with --headless --frames N --out FILE.mp4")
    if args.size is not None and args.size < 1:
        parser.error(f"--size must be a positive width in pixels, got {args.size}")
    if args.out is not None:
        try:
            check_writable(args.out)
        except UserError as e:
            parser.error(str(e))
    if args.fps is not None and args.fps <= 0:
        parser.error(f"--fps must be positive, got {args.fps}")
    if args.frames is None:
        args.frames = 100
    elif args.frames < 1:
        parser.error(f"--frames must be at least 1, got {args.frames}")
    return args


def run_play(backend: Backend, args: argparse.Namespace, policy=None) -> None:
    """Open the window (or run headless into ``--out``, or serve the browser page) with the shared options."""
    from worldmodels.play.app import PlayApp, PlayOptions

    if args.web is not None:
        os.environ["SDL_VIDEODRIVER"] = "dummy"  # the window is drawn off-screen and streamed to the page

    options = PlayOptions(
        size=args.size,
        fps=args.fps,
        header=not args.no_header,
        out_dir=args.out_dir,
        record_to=args.out if args.headless else None,
        headless=args.headless,
        fullscreen=args.fullscreen,
    )
    if args.headless and policy is None:
        policy = backend.scripted_action
    app = PlayApp(backend, options, policy=policy)
    if args.web is not None:
        from worldmodels.play.web import serve

        serve(app, args.web)
    else:
        app.run(max_frames=args.frames if args.headless else None)
