"""Measure the bundled models on fresh real data, next to a randomly initialised model of the same shape.

  python scripts/eval_pretrained.py                      # every bundled model
  python scripts/eval_pretrained.py --only genie --genie data/exported.safetensors
  python scripts/eval_pretrained.py --only oasis --oasis_grid docs/images/oasis_bundled_rollout.png
  python scripts/eval_pretrained.py --only diamond --diamond_rollouts 64 --seed 999

These are the numbers in the model cards (worldmodels/pretrained/*.md) and the checks of
tests/test_pretrained.py (worldmodels/pretrained/checks.py): fresh play of each model's game with seed 1234
(``--seed`` picks other fresh play).
"""

import argparse
import tempfile
from pathlib import Path

import torch

from worldmodels.core.errors import cli_entry
from worldmodels.pretrained import DIAMOND_BREAKOUT, GENIE_COINRUN, OASIS_BREAKOUT


def show(title: str, metrics: dict, bars: dict) -> None:
    from worldmodels.pretrained.checks import failures

    print(f"\n{title}")
    for key, value in metrics.items():
        print(f"  {key:<32} {value:8.3f}" if isinstance(value, float) else f"  {key:<32} {value}")
    failed = failures(metrics, bars)
    print("  checks: " + ("all cleared" if not failed else "FAILED " + "; ".join(failed)))


def show_beside_random(name: str, path: Path, models: list, measure, bars: dict) -> None:
    """The metrics of ``models`` (``measure(*models)``), then of freshly initialised models of the same shapes,
    which must fail every bar."""
    from worldmodels.pretrained.checks import random_like

    show(f"{name} {path}", measure(*models), bars)
    show(f"{name}, random initialisation", measure(*[random_like(m) for m in models]), bars)


@cli_entry
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("diamond", "genie", "oasis"))
    parser.add_argument("--diamond", type=Path, default=DIAMOND_BREAKOUT, help="a Breakout agent .pt")
    parser.add_argument("--genie", type=Path, default=GENIE_COINRUN, help="a genie .ckpt or .safetensors")
    parser.add_argument("--oasis", type=Path, default=OASIS_BREAKOUT, help="an oasis-train .ckpt or its export")
    parser.add_argument("--oasis_grid", type=Path, help="a PNG of real vs generated rollouts of the Oasis model")
    parser.add_argument("--diamond_grid", type=Path, help="a PNG of real vs imagined Breakout along the horizon")
    parser.add_argument("--diamond_rollouts", type=int, default=16, help="50-step rollouts for the objects kept")
    parser.add_argument("--seed", type=int, default=1234, help="of the fresh play (training used 0)")
    args = parser.parse_args()
    if args.diamond_rollouts < 1:
        parser.error(f"--diamond_rollouts {args.diamond_rollouts}: must be at least 1")
    torch.set_grad_enabled(False)
    from worldmodels.pretrained import checks

    if args.only in (None, "diamond"):
        from worldmodels.diamond.agent import load_agent

        agent = load_agent(args.diamond)
        measure = lambda agent: checks.diamond_metrics(agent, args.seed, args.diamond_rollouts)  # noqa: E731
        show_beside_random("DIAMOND", args.diamond, [agent], measure, checks.DIAMOND_BARS)
        if args.diamond_grid:
            print(f"wrote {checks.diamond_grid(agent, args.diamond_grid, args.seed)}")
    if args.only in (None, "genie"):
        from worldmodels.genie.genie_module import load_genie

        models = load_genie(args.genie)
        with tempfile.TemporaryDirectory() as folder:
            data = checks.fresh_coinrun(Path(folder), args.seed)
            measure = lambda *models: checks.genie_metrics(*models, data)  # noqa: E731
            show_beside_random("Genie", args.genie, list(models), measure, checks.GENIE_BARS)
    if args.only in (None, "oasis"):
        from worldmodels.oasis.train_module import load_trained_dit

        dit = load_trained_dit(args.oasis)
        measure = lambda dit: checks.oasis_metrics(dit, args.seed)  # noqa: E731
        show_beside_random("Oasis", args.oasis, [dit], measure, checks.OASIS_BARS)
        if args.oasis_grid:
            print(f"wrote {checks.oasis_grid(dit, args.oasis_grid, args.seed)}")


if __name__ == "__main__":
    main()
