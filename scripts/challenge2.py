"""Challenge 2 end to end: Genie on procgen CoinRun, from an empty folder to a played MP4.

  python scripts/challenge2.py              # small models and data: a laptop CPU in about 15 minutes
  python scripts/challenge2.py --gpu        # the workshop GPU preset (configs/gpu): about 20 minutes, unmeasured
  python scripts/challenge2.py --paper      # the paper's CoinRun configs (configs/*.yaml) on one GPU: days
  python scripts/challenge2.py --play-only  # just play the bundled model

First it plays the small CoinRun model bundled with the package (no Genie CoinRun weights are published,
and it needs no network): in a window when there is a display (close it to go on), otherwise into
data/challenge2_bundled.mp4. Then it trains your own. Stages: genie-sample (skipped when the source
folder already holds episodes), genie-split, genie-tokenizer fit, genie fit, genie-eval, genie-play. Each
runs as its own command, printed before it starts, so any of them can be rerun by hand. Logs and
checkpoints land in data/log/{tokenizer,genie}/version_N/.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
# Small: 120 episodes of at most 400 stored steps, each holding its action for 3 game steps (about 12k
# frames, 30 s to sample), played by the "moves" policy: sticky over the game's distinct movements, evenly,
# so that walking left and right and jumping are all common (a uniform random policy stands still 9 times in
# 15 in CoinRun), and held long enough per frame that a step moves the view by a visible amount (a CoinRun
# step moves it by about a pixel at most). GPU: the same data, 5x more of it (about 60k frames, 3 minutes).
# Paper: Appendix F, 10k levels x 1000 steps of a random policy in hard mode.
MOVES = ["--policy", "moves", "--frame_skip", "3"]
SAMPLE = {
    "small": ["--num_envs", "8", "--num_episodes", "120", "--timeout", "400", *MOVES],
    "gpu": ["--num_envs", "32", "--num_episodes", "600", "--timeout", "500", *MOVES],
    "paper": ["--num_envs", "64", "--num_episodes", "10000", "--num_levels", "10000", "--timeout", "1000"],
}
CONFIG_FOLDERS = {"small": CONFIGS / "small", "gpu": CONFIGS / "gpu", "paper": CONFIGS}
ROOTS = {"small": Path("data/small"), "gpu": Path("data/gpu"), "paper": Path("data")}


def run(stage: str, args: list[str], env: dict[str, str], timings: dict[str, float]) -> None:
    command = [sys.executable, "-m", *args]
    print(f"\n== {stage}: {' '.join(command[1:])}", flush=True)
    start = time.perf_counter()
    if subprocess.run(command, env=env).returncode != 0:
        sys.exit(f"challenge2: stage {stage!r} failed (command above)")
    timings[stage] = time.perf_counter() - start


def newest_checkpoint(log_dir: Path) -> Path:
    versions = [p for p in log_dir.glob("version_*") if p.name.removeprefix("version_").isdigit()]
    newest = max(versions, key=lambda p: int(p.name.removeprefix("version_")))
    return newest / "checkpoints" / "last.ckpt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    preset = parser.add_mutually_exclusive_group()
    preset.add_argument("--gpu", action="store_true", help="the workshop GPU preset (default: small, CPU)")
    preset.add_argument("--paper", action="store_true", help="the paper's CoinRun configs on a GPU: days")
    parser.add_argument("--root", type=Path, help="data folder (default: data/small, data/gpu or data)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads per stage in the small run (default 1: on a busy "
        "2-core machine two threads waiting for each other ran the tokenizer 8x slower)",
    )
    parser.add_argument("--play-only", action="store_true", help="play the bundled model, train nothing")
    parser.add_argument("--env_name", default="coinrun", help="the procgen game to train on (default: coinrun)")
    args = parser.parse_args()
    timings: dict[str, float] = {}
    bundled = Path("data/challenge2_bundled.mp4")
    from worldmodels.play.cli import has_display

    game = args.env_name.strip().lower()
    where = [] if has_display() else ["--headless", "--no-header", "--frames", "100", "--out", str(bundled)]
    if game == "coinrun":  # the bundled model is a CoinRun one
        run("bundled", ["challenges.genie.play", "--pretrained", *where], dict(os.environ), timings)
    if args.play_only:
        return
    size = "paper" if args.paper else "gpu" if args.gpu else "small"
    root, configs = args.root or ROOTS[size], CONFIG_FOLDERS[size]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)} if size == "small" else dict(os.environ)
    source = root / game / "source"
    if any(source.glob("episode_*.npz")):
        print(f"== sample: reusing the episodes in {source}")
    else:
        run(
            "sample",
            ["challenges.genie.sample", "--env_name", game, "--root", str(root), *SAMPLE[size]],
            env,
            timings,
        )
    run("split", ["challenges.genie.split", "--env_name", game, "--root", str(root)], env, timings)
    data = ["--data.root", str(root), "--data.env_name", game]
    run("tokenizer", ["challenges.genie.tokenizer", "fit", "-c", str(configs / "tokenize.yaml"), *data], env, timings)
    tokenizer = newest_checkpoint(Path("data/log/tokenizer"))
    genie_args = ["fit", "-c", str(configs / "genie.yaml"), *data]
    run("genie", ["challenges.genie.genie", *genie_args, "--model.tokenizer_ckpt_path", str(tokenizer)], env, timings)
    genie = newest_checkpoint(Path("data/log/genie"))
    report, video = Path(f"data/challenge2_{size}_{game}_eval.json"), Path(f"data/challenge2_{size}_{game}.mp4")
    model = ["--checkpoint", str(genie), "--root", str(root), "--env_name", game]
    clips = ["--num_clips", "256" if size == "small" else "1024"]  # ΔtPSNR is a small difference: average many clips
    run("eval", ["challenges.genie.eval", *model, *clips, "--output", str(report)], env, timings)
    run("play", ["challenges.genie.play", *model, "--output", str(video)], env, timings)

    print("\n== challenge 2 done")
    for stage, seconds in timings.items():
        print(f"  {stage:<10}{seconds / 60:6.1f} min")
    print(f"  {'total':<10}{sum(timings.values()) / 60:6.1f} min")
    print(f"data:        {root}/{game}/{{train,val,test}}")
    print(f"tokenizer:   {tokenizer}")
    print(f"genie:       {genie}  (logs: tensorboard --logdir {genie.parents[1]})")
    print(f"evaluation:  {report}")
    print(f"action grid: {report.with_suffix('.grid.png')}  (rows = latent actions, columns = time)")
    print(f"video:       {video}")
    print(f"play it:     genie-play --checkpoint {genie} --root {root} --env_name {game}")


if __name__ == "__main__":
    main()
