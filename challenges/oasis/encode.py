"""oasis-encode: the Oasis ViT-VAE run once over episode folders, its latents stored for oasis-train.

  oasis-encode --root data --env_name coinrun --out data/latents --fit stretch   # procgen's 64x64 frames
  oasis-encode --root data --env_name minecraft --out data/latents               # 360x640 frames as they are

Reads <root>/<env_name>/{train,val,test}/episode_*.npz (genie-sample + genie-split, or EpisodeDataset.add) and
writes <out>/<env_name>/<split>/episode_<n>.latents.npy (float16 t x 16 x 18 x 32, scaled as the sampler
scales them) and episode_<n>.actions.npy (the episode's int actions). Episodes already encoded are skipped,
so an interrupted run continues. Frames are resized to the VAE's input size (360x640 for the published VAE);
--fit says what to do with another aspect ratio. Then: oasis-train fit -c configs/oasis/finetune_500m.yaml.
"""

import argparse
from pathlib import Path

from challenges.oasis.common import LOCAL, VAE_FILE, weights
from worldmodels.core.errors import cli_entry
from worldmodels.oasis.latents import FITS, SPLITS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oasis-encode", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("data"), help="episode folders: ROOT/ENV/SPLIT")
    parser.add_argument("--env_name", default="coinrun", help="the game's folder under --root (default: coinrun)")
    parser.add_argument("--out", type=Path, help="where the latents go (default: ROOT/latents)")
    parser.add_argument("--splits", nargs="+", choices=SPLITS, default=list(SPLITS), help="default: those present")
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
    parser.add_argument("--batch_size", type=int, default=32, help="frames encoded at once (default: 32)")
    parser.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    parser.add_argument("--fp32", action="store_true", help="full precision on CUDA (default: fp16 autocast, as play)")
    parser.add_argument("--offline", action="store_true", help="use only files already downloaded")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


@cli_entry
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)

    from worldmodels.core.device import pick_device
    from worldmodels.oasis.latents import encode_episodes
    from worldmodels.oasis.load import load_vae

    out = args.out if args.out is not None else args.root / "latents"
    source = weights(args.vae, VAE_FILE)
    vae = load_vae(source, device=pick_device(args.device), offline=args.offline)
    summary = encode_episodes(
        vae,
        args.root,
        args.env_name,
        out,
        tuple(args.splits),
        args.batch_size,
        args.fit,
        half=not args.fp32,
        source=source,
        quiet=args.quiet,
    )
    for split, (done, skipped) in summary.items():
        print(f"{split}: encoded {done} episodes, {skipped} already there -> {out / args.env_name / split}")


if __name__ == "__main__":
    main()
