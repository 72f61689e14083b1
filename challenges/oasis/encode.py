"""oasis-encode: the Oasis ViT-VAE run once over episode folders or the Oasis release's videos, its latents
stored for oasis-train.

  oasis-encode --root data --env_name coinrun --out data/latents --fit stretch   # procgen's 64x64 frames
  oasis-encode --videos clips --out data/latents                                 # Minecraft MP4s + actions

Episodes: reads <root>/<env_name>/{train,val,test}/episode_*.npz (genie-sample + genie-split, or
EpisodeDataset.add); each episode's actions are its int actions. Videos (--videos FOLDER): reads every *.mp4
under FOLDER with its action file beside it, NAME.one_hot_actions.pt (float N x 25) or NAME.actions.pt (VPT's
per-step dicts), one action per frame (N = the video's frames); each video's actions are those float32 rows.
The videos, sorted by path, are dealt to the splits the same way on every run: the last ceil(test x n) go to
test, the ceil(val x n) before them to val, the rest to train (at least one video: with too few, test and then
val get fewer); the n-th video of a split becomes its episode_<n>. <out>/<env_name>/latents.json records that
deal, and a run over other videos (or with other shares) into the same --out is refused.

Either way it writes <out>/<env_name>/<split>/episode_<n>.latents.npy (float16 t x 16 x 18 x 32, scaled as
the sampler scales them) and episode_<n>.actions.npy (the action taken at each frame). Episodes already
encoded are skipped, so an interrupted run continues; every input is checked before anything is written.
Frames are resized to the VAE's input size (360x640 for the published VAE); --fit says what to do with
another aspect ratio. Then: oasis-train fit -c configs/oasis/finetune_500m.yaml.
"""

import argparse
from pathlib import Path

from challenges.oasis.common import LOCAL, VAE_FILE, weights
from worldmodels.core.errors import UserError, cli_entry
from worldmodels.oasis.latents import FITS, SPLITS

DATA = Path("data")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oasis-encode",
        description=__doc__.split("\n\n")[0].replace("\n", " "),
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--root", type=Path, help="episode folders: ROOT/ENV/SPLIT (default: data)")
    parser.add_argument(
        "--videos",
        type=Path,
        metavar="FOLDER",
        help="a folder of *.mp4 with their action files, instead of --root and --splits",
    )
    parser.add_argument(
        "--env_name", help="the game's folder under --root and --out (default: coinrun; minecraft with --videos)"
    )
    parser.add_argument(
        "--out", type=Path, help="where the latents go (default: ROOT/latents, data/latents with --videos)"
    )
    parser.add_argument("--splits", nargs="+", choices=SPLITS, help="episode splits to encode (default: those present)")
    parser.add_argument("--val", type=float, help="with --videos: the share of videos for val (default: 0.1)")
    parser.add_argument("--test", type=float, help="with --videos: the share of videos for test (default: 0)")
    parser.add_argument(
        "--vae", help=f"ViT-VAE weights: a file or hf://owner/repo/file (default: {LOCAL / VAE_FILE}, else the hub)"
    )
    parser.add_argument(
        "--fit",
        choices=FITS,
        default="resize",
        help=(
            "frames of another size than the VAE's: resize (same aspect ratio only, the default), "
            "crop (center crop to its aspect ratio, as oasis-play prompts), or stretch"
        ),
    )
    parser.add_argument("--batch_size", type=int, default=32, help="frames decoded and encoded at once (default: 32)")
    parser.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    parser.add_argument("--fp32", action="store_true", help="full precision on CUDA (default: fp16 autocast, as play)")
    parser.add_argument("--offline", action="store_true", help="use only files already downloaded")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def check_sources(args: argparse.Namespace) -> None:
    """Episode folders and videos are two inputs with options of their own: a mix is refused, not guessed at."""
    if args.videos is not None:
        given = [option for option, value in (("--root", args.root), ("--splits", args.splits)) if value is not None]
        if given:
            raise UserError(f"--videos reads videos, {' and '.join(given)} episode folders: give one or the other")
    else:
        given = [option for option, value in (("--val", args.val), ("--test", args.test)) if value is not None]
        if given:
            raise UserError(f"{' and '.join(given)}: only with --videos (episode folders come split already)")


@cli_entry
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    check_sources(args)

    from worldmodels.core.device import pick_device
    from worldmodels.oasis.latents import encode_episodes, encode_videos
    from worldmodels.oasis.load import load_vae

    env_name = args.env_name or ("minecraft" if args.videos is not None else "coinrun")
    out = args.out if args.out is not None else (args.root or DATA) / "latents"
    if args.videos is not None:  # a folder without clips is told before the VAE (maybe a download) loads
        from worldmodels.data.video_import import find_pairs
        from worldmodels.oasis.actions import ACTION_FILE_SUFFIXES

        find_pairs(args.videos, ACTION_FILE_SUFFIXES)
    source = weights(args.vae, VAE_FILE)
    vae = load_vae(source, device=pick_device(args.device), offline=args.offline)
    options = dict(batch_size=args.batch_size, fit=args.fit, half=not args.fp32, source=source, quiet=args.quiet)
    if args.videos is not None:
        val, test = 0.1 if args.val is None else args.val, 0.0 if args.test is None else args.test
        summary = encode_videos(vae, args.videos, env_name, out, val, test, **options)
        what = "videos"
    else:
        splits = tuple(args.splits or SPLITS)
        summary = encode_episodes(vae, args.root or DATA, env_name, out, splits, **options)
        what = "episodes"
    for split, (done, skipped) in summary.items():
        print(f"{split}: encoded {done} {what}, {skipped} already there -> {out / env_name / split}")


if __name__ == "__main__":
    main()
