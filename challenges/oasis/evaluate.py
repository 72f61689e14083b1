"""oasis-eval: measure a pixel-space model from oasis-train on held-out clips of its game.

  oasis-eval --checkpoint data/log/oasis/version_0/checkpoints/last.ckpt --root data --env_name coinrun

Reports the next frame sampled from 4 real frames and the recorded action beside copying the last frame
(the baseline to beat), and 16-frame rollouts from one real frame under the recorded actions vs another
clip's (the action gain, with its standard error), on clips that never cross an episode's end
(worldmodels/oasis/evaluation.py). Try several ``--ddim_steps``: a briefly trained model can be better with
fewer steps. Writes a JSON report (atomically) and a PNG with, for the first clips, a real row above the
row the model generated from the clip's first frame.
"""

import argparse
import json
from pathlib import Path

from worldmodels.core.errors import UserError, cli_entry

GRID_CLIPS, GRID_FRAMES = 4, 12
ROWS = [  # (key, label, format)
    ("one_step_psnr", "next frame from {context} real frames, recorded action (dB)", ".2f"),
    ("copy_last_frame_psnr", "  baseline: copy the last real frame (dB)", ".2f"),
    ("rollout_psnr", "{horizon}-frame rollout from 1 frame, recorded actions (dB)", ".2f"),
    ("rollout_psnr_shuffled_actions", "  the same under another clip's actions (dB)", ".2f"),
    ("action_gain", "action gain (dB)", "+.2f"),
    ("action_gain_stderr", "  its standard error over the clips (dB)", ".2f"),
    ("num_clips", "clips of {length} frames", "d"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oasis-eval", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="a .ckpt from oasis-train (or its export)")
    parser.add_argument("--root", type=Path, default=Path("data"), help="data folder (default: ./data)")
    parser.add_argument("--env_name", default="coinrun", help="procgen game (default: coinrun)")
    parser.add_argument("--split", default="test", choices=("train", "val", "test"), help="(default: test)")
    parser.add_argument("--num_clips", type=int, default=48, help="(default: 48)")
    parser.add_argument("--context", type=int, default=4, help="real frames before the next one (default: 4)")
    parser.add_argument("--horizon", type=int, default=16, help="frames rolled out from one (default: 16)")
    parser.add_argument("--ddim_steps", type=int, default=10, help="denoising steps per frame (default: 10)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    parser.add_argument("--output", type=Path, default=Path("data/oasis_eval.json"), help="the JSON report")
    parser.add_argument("--grid", type=Path, help="the rollout PNG (default: beside --output)")
    return parser


@cli_entry
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.num_clips < 2 or args.ddim_steps < 1 or args.context < 1 or args.horizon < 1:
        raise UserError("--num_clips must be at least 2; --ddim_steps, --context and --horizon at least 1")

    import torch

    from worldmodels.core.files import atomic_path
    from worldmodels.genie.action_grid import save_grid
    from worldmodels.genie.data import GenieDataModule
    from worldmodels.oasis.evaluation import evaluate, held_out_clips, rollout_rows
    from worldmodels.oasis.train_module import load_trained_dit

    dit = load_trained_dit(args.checkpoint)
    length = max(args.context, args.horizon) + 1
    folder = GenieDataModule(str(args.root), args.env_name, clip_length=length).split(args.split).folder
    video, actions = held_out_clips(folder, args.num_clips, length)
    with torch.no_grad():
        report = evaluate(dit, video, actions, args.context, args.horizon, args.ddim_steps, args.seed)
    report |= {"checkpoint": str(args.checkpoint), "data": str(folder), "ddim_steps": args.ddim_steps}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.output) as tmp:
        Path(tmp).write_text(json.dumps(report, indent=2))
    labels = [label.format(context=args.context, horizon=args.horizon, length=length) for _, label, _ in ROWS]
    width = max(map(len, labels))
    print("\n".join(f"{label:<{width}}  {report[key]:{fmt}}" for label, (key, _, fmt) in zip(labels, ROWS)))
    grid = args.grid or args.output.with_suffix(".grid.png")
    frames = min(GRID_FRAMES, length - 1)
    rows = rollout_rows(dit, video[:GRID_CLIPS], actions[:GRID_CLIPS], frames, args.ddim_steps, args.seed)
    save_grid(grid, rows, [f"clip {i // 2}: " + ("real" if i % 2 == 0 else "model") for i in range(len(rows))])
    print(f"wrote {args.output} and {grid} (rows: real, then generated from its first frame)")


if __name__ == "__main__":
    main()
