"""genie-eval: measure a trained Genie on the test split: tokenizer, dynamics, controllability, latent actions.

  genie-eval --checkpoint data/log/genie/version_0/checkpoints/last.ckpt --root data --env_name coinrun

Reports tokenizer PSNR/SSIM; frame 4 generated from the real frames 1-3 and the inferred latent action,
beside copying frame 3 (in pixels and in tokens); the paper's controllability ΔtPSNR (frames 2-4 rolled
out from frame 1 with the inferred latent actions vs random ones); how well the latent actions agree with
the true actions and their movements (NMI, probe accuracy); and how the view moves when each latent action
is held (phase correlation), with the action grid (rows = latent actions, columns = time) as a PNG.
Writes a JSON report (atomically), prints a table and the grid's path. The metrics are defined in
worldmodels/genie/evaluation.py.
"""

import argparse
import json
from pathlib import Path

from worldmodels.core.errors import UserError, cli_entry

ROWS = [  # (key, label, format)
    ("tokenizer_psnr", "tokenizer PSNR (dB)", ".2f"),
    ("tokenizer_ssim", "tokenizer SSIM", ".4f"),
    ("dynamics_psnr", "frame 4 from real frames 1-3, inferred action (dB)", ".2f"),
    ("token_copy_psnr", "  baseline: frame 3's tokens as frame 4 (dB)", ".2f"),
    ("copy_last_frame_psnr", "  baseline: frame 3 as frame 4, pixels (dB)", ".2f"),
    ("rollout_psnr", "frame 4 rolled out from frame 1, inferred actions (dB)", ".2f"),
    ("rollout_psnr_random_actions", "frame 4 rolled out from frame 1, random actions (dB)", ".2f"),
    ("delta_t_psnr", "ΔtPSNR (controllability, dB)", "+.2f"),
    ("delta_t_psnr_stderr", "  its standard error over the clips (dB)", ".2f"),
    ("action_nmi", "NMI(latent action, true action)", ".4f"),
    ("movement_nmi", "NMI(latent action, true movement)", ".4f"),
    ("movement_probe_accuracy", "movement read from the latent action (held-out)", ".3f"),
    ("movement_majority_accuracy", "  baseline: always the commonest movement", ".3f"),
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
    parser.add_argument("--num_starts", type=int, default=32, help="start frames for the motion test (default: 32)")
    parser.add_argument("--hold", type=int, default=8, help="frames each latent action is held (default: 8)")
    parser.add_argument("--output", type=Path, default=Path("data/genie_eval.json"), help="the JSON report")
    parser.add_argument("--grid", type=Path, help="the action grid PNG (default: beside --output)")
    return parser


def table(report: dict) -> str:
    width = max(len(label) for _, label, _ in ROWS)
    lines = [f"{label:<{width}}  {report[key]:{fmt}}" for key, label, fmt in ROWS]
    lines.append(f"holding each latent action for {report['hold']} frames from {report['num_starts']} real frames:")
    for way, best in report["motion"]["best"].items():
        lines.append(
            f"  {way:<6} latent action {best['action']} from {best['fraction']:.0%} of the starts "
            f"(the real game, holding {way}: {best['real_game']:.0%})"
        )
    return "\n".join(lines)


def frame_skip(root: Path, game: str) -> int:
    """The game steps per stored frame of the data, from the settings genie-sample keeps (1 if unknown)."""
    try:
        return int(json.loads((root / game / "source" / "sample.json").read_text())["settings"]["frame_skip"])
    except (OSError, ValueError, KeyError, TypeError):
        return 1


def grid_labels(motion: dict) -> list[str]:
    """Per row of the grid: the latent action and the ways it goes from most start frames."""
    labels = []
    for k, row in enumerate(motion["per_action"]):
        ways = sorted(((row[w], w) for w in motion["best"]), reverse=True)[:2]
        labels.append(f"action {k}\n" + "\n".join(f"{w} {f:.0%}" for f, w in ways))
    return labels


@cli_entry
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    for flag in ("num_clips", "steps", "batch_size", "num_starts", "hold"):
        if getattr(args, flag) < 1:
            raise UserError(f"--{flag} {getattr(args, flag)}: must be at least 1")

    from worldmodels.core.device import pick_device
    from worldmodels.core.files import atomic_path
    from worldmodels.envs.procgen import resolve_game
    from worldmodels.genie.action_grid import save_grid
    from worldmodels.genie.data import GenieDataModule
    from worldmodels.genie.evaluation import HORIZON, evaluate_actions, evaluate_clips, evaluate_motion
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
        **evaluate_actions(lam, folder, args.batch_size, device, resolve_game(args.env_name)),
    }
    motion, videos = evaluate_motion(
        tokenizer,
        dynamics,
        folder,
        resolve_game(args.env_name),
        args.num_starts,
        args.hold,
        args.steps,
        args.temperature,
        args.seed,
        args.batch_size,
        device,
        frame_skip(args.root, resolve_game(args.env_name)),
    )
    report |= {"num_starts": len(videos[0]), "hold": args.hold, "motion": motion}
    middle = videos[:, len(videos[0]) // 2]  # a start from inside an episode: level starts face a wall
    grid = save_grid(args.grid or args.output.with_suffix(".grid.png"), middle, grid_labels(motion))
    with atomic_path(args.output) as tmp:
        Path(tmp).write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"wrote {args.output}")
    print(f"action grid (rows = latent actions, columns = time): {grid}")


if __name__ == "__main__":
    main()
