"""Play speed and control of a trained Genie against its MaskGIT steps: fewer steps play faster, but may wash
out the latent action. For each step count: frames per second of ``GenieWorld.step`` (what ``genie-play``
shows, tokenizer decode included) with a full context window, and ΔtPSNR with its standard error on fresh
CoinRun (``worldmodels.pretrained.checks``). The paper's 25 steps are the baseline of the same run.

  python scripts/bench_genie_play.py                            # the bundled model, steps 25 8 4 2 1
  python scripts/bench_genie_play.py --checkpoint last.ckpt --steps 25 4 --threads 1
"""

import argparse
import tempfile
from functools import partial
from pathlib import Path

import torch
from benchmark import measure, report

from worldmodels.genie.evaluation import evaluate_clips
from worldmodels.genie.generate import GenieWorld
from worldmodels.genie.genie_module import load_genie
from worldmodels.pretrained import GENIE_COINRUN
from worldmodels.pretrained.checks import GENIE_CLIPS, fresh_coinrun


def warmed_world(tokenizer, dynamics, steps: int) -> GenieWorld:
    """A world whose context window is already full, so each timed step costs what steady play costs."""
    world = GenieWorld(tokenizer, dynamics, steps, 1.0, torch.Generator().manual_seed(0))
    world.reset(torch.zeros(3, 64, 64))
    for i in range(dynamics.cfg.max_frames):
        world.step(i % dynamics.cfg.num_actions)
    return world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=None, help="genie fit checkpoint (default: bundled)")
    parser.add_argument("--steps", type=int, nargs="+", default=[25, 8, 4, 2, 1], help="first = baseline")
    parser.add_argument("--repeats", type=int, default=10, help="timed frames per step count")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tokenizer, lam, dynamics = load_genie(args.checkpoint or GENIE_COINRUN)
    timings, control = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = fresh_coinrun(Path(tmp))
        for steps in args.steps:
            world = warmed_world(tokenizer, dynamics, steps)
            timings.append(measure(f"{steps} steps", partial(world.step, 0), warmup=1, repeats=args.repeats))
            m = evaluate_clips(tokenizer, lam, dynamics, folder, GENIE_CLIPS, steps, 1.0, 16, 0, "cpu")
            control.append((steps, m))
    report(f"genie-play, one frame with a full window ({torch.get_num_threads()} threads)", timings, "frames")
    print(f"\n{'steps':>5} {'frames/s':>9} {'ΔtPSNR (dB)':>16} {'frame 4 (dB)':>13} {'token copy':>11}")
    for timing, (steps, m) in zip(timings, control, strict=True):
        gain = f"{m['delta_t_psnr']:+.2f} ± {m['delta_t_psnr_stderr']:.2f}"
        print(f"{steps:5d} {timing.throughput:9.2f} {gain:>16} {m['dynamics_psnr']:13.2f} {m['token_copy_psnr']:11.2f}")


if __name__ == "__main__":
    main()
