"""oasis-export: an oasis-train checkpoint's DiT in the published layout, for oasis-play --dit.

  oasis-export data/log/oasis/version_0/checkpoints/last.ckpt data/oasis/finetuned.safetensors
  oasis-play --dit data/oasis/finetuned.safetensors

The file has the DiT's own tensor names (those of oasis500m.safetensors, no "dit." prefix) and its config
in the header, so load_dit reads it; a model trained on latents plays with the published ViT-VAE.
"""

import argparse
from pathlib import Path

from worldmodels.core.errors import cli_entry

DTYPES = ("float32", "bfloat16", "float16")


@cli_entry
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="oasis-export", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="an oasis-train .ckpt (or its export_trained_dit file)")
    parser.add_argument("output", type=Path, help="the .safetensors file to write")
    parser.add_argument(
        "--dtype", choices=DTYPES, default="float32", help="of the linear/conv weights (default: float32)"
    )
    args = parser.parse_args(argv)
    if args.output.suffix != ".safetensors":
        parser.error(f"{args.output}: the output must be a .safetensors file")

    import torch

    from worldmodels.oasis.train_module import export_published_dit

    path = export_published_dit(args.checkpoint, args.output, getattr(torch, args.dtype))
    print(f"wrote {path} (oasis-play --dit {path})")


if __name__ == "__main__":
    main()
