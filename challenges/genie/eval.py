"""genie-eval: measure a trained Genie on the test split: tokenizer, dynamics, controllability, latent actions.

  genie-eval --checkpoint data/log/genie/version_0/checkpoints/last.ckpt --root data --env_name coinrun

Reports tokenizer PSNR/SSIM, the PSNR of frame 4 generated from real frames 1-3 with the latent actions
the LAM infers from the real clip, the paper's controllability ΔtPSNR (that PSNR minus the one with random
latent actions), and the normalized mutual information between latent and true procgen actions over every
test transition. Writes a JSON report (atomically) and prints a table.
"""

import argparse
import json
from pathlib import Path

from worldmodels.core.errors import UserError, cli_entry

ROWS = [  # (key, label, format)
    ("tokenizer_psnr", "tokenizer PSNR (dB)", ".2f"),
    ("tokenizer_ssim", "tokenizer SSIM", ".4f"),
    ("dynamics_psnr", "dynamics PSNR at t=4, inferred actions (dB)", ".2f"),
    ("dynamics_psnr_random_actions", "dynamics PSNR at t=4, random actions (dB)", ".2f"),
    ("delta_t_psnr", "ΔtPSNR (controllability, dB)", "+.2f"),
    ("delta_t_psnr_stderr", "  its standard error over the clips (dB)", ".2f"),
    ("copy_last_frame_psnr", "copy frame 3 as frame 4 (baseline, dB)", ".2f"),
    ("action_nmi", "NMI(latent action, true action)", ".4f"),
    ("latent_actions_used", "latent actions used (fraction)", ".3f"),
    ("num_clips", "clips (4 frames)", "d"),
    ("num_transitions", "transitions", "d"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genie-eval", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="a .ckpt from genie fit")
    parser.add_argument("--tokenizer_checkpoint", type=Path, help="a .ckpt from genie-tokenizer (default: the stored)")
    parser.add_argument("--root", type=Path, default=Path("data"), help="data folder (default: ./data)")
    parser.add_argument("--env_name", default="coinrun", help="procgen game (default: coinrun)")
    parser.add_argument("--split", default="test", choices=("train", "val", "test"), help="(default: test)")
    parser.add_argument("--num_clips", type=int, default=64, help="4-frame clips for the image metrics (default: 64)")
    parser.add_argument("--steps", type=int, default=25, help="MaskGIT steps (default: 25)")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default: 1.0)")
    parser.add_argument("--batch_size", type=int, default=16, help="(default: 16)")
    parser.add_argument("--seed", type=int, default=0, help="sampling and random-action seed (default: 0)")
    parser.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    parser.add_argument("--output", type=Path, default=Path("data/genie_eval.json"), help="the JSON report")
    return parser


def table(report: dict) -> str:
    width = max(len(label) for _, label, _ in ROWS)
    return "\n".join(f"{label:<{width}}  {report[key]:{fmt}}" for key, label, fmt in ROWS)


@cli_entry
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    for flag in ("num_clips", "steps", "batch_size"):
        if getattr(args, flag) < 1:
            raise UserError(f"--{flag} {getattr(args, flag)}: must be at least 1")

    from worldmodels.core.device import pick_device
    from worldmodels.core.files import atomic_path
    from worldmodels.genie.data import GenieDataModule
    from worldmodels.genie.evaluation import HORIZON, evaluate_actions, evaluate_clips
    from worldmodels.genie.genie_module import load_genie

    folder = GenieDataModule(str(args.root), args.env_name, clip_length=HORIZON).split(args.split).folder
    device = pick_device(args.device)
    tokenizer, lam, dynamics = (m.to(device) for m in load_genie(args.checkpoint, args.tokenizer_checkpoint))
    report = {
        "checkpoint": str(args.checkpoint),
        "tokenizer_checkpoint": str(args.tokenizer_checkpoint or args.checkpoint),
        "data": str(folder),
        "steps": args.steps,
        "temperature": args.temperature,
        **evaluate_clips(
            tokenizer,
            lam,
            dynamics,
            folder,
            args.num_clips,
            args.steps,
            args.temperature,
            args.batch_size,
            args.seed,
            device,
        ),
        **evaluate_actions(lam, folder, args.batch_size, device),
    }
    with atomic_path(args.output) as tmp:
        Path(tmp).write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
