"""genie-split: a deterministic train/val/test split of the episodes genie-sample stored.

``<root>/<game>/source/episode_*.npz`` (genie-sample's, or any game's episodes put there: a DIAMOND dataset,
episodes-import, diamond-play -r) are shuffled with ``--seed`` and hard-linked (copied where links are
not possible) into ``<root>/<game>/train|val|test/``, numbered from 0 in each split so EpisodeDataset reads
them. The split folders are rebuilt from source on every run, so the same source and flags give the same
split; each folder is swapped in whole.
"""

import argparse
import math
import os
import shutil
from pathlib import Path

import numpy as np

from worldmodels.core.errors import UserError, cli_entry
from worldmodels.core.files import temp_dir_beside
from worldmodels.data.episodes import Episode, EpisodeDataset
from worldmodels.envs.procgen import GAMES
from worldmodels.genie.data import game_folder

SPLITS = ("train", "val", "test")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genie-split", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--env_name",
        default="Coinrun",
        help="procgen game, any case, or the folder of another game's episodes (default: Coinrun)",
    )
    parser.add_argument("--root", type=Path, default=Path("data"), help="data folder (default: ./data)")
    parser.add_argument(
        "--ratios", type=float, nargs=3, default=(0.8, 0.1, 0.1), metavar=SPLITS, help="(default: 0.8 0.1 0.1)"
    )
    parser.add_argument("--seed", type=int, default=42, help="shuffle seed (default: 42)")
    return parser


def split_counts(n: int, ratios: tuple[float, ...]) -> list[int]:
    """Episodes per split: largest remainders, then one for every split with a positive ratio."""
    if any(r < 0 for r in ratios) or not math.isclose(sum(ratios), 1.0, abs_tol=1e-6):
        raise UserError(f"--ratios {' '.join(map(str, ratios))}: must be non-negative and sum to 1")
    needed = sum(r > 0 for r in ratios)
    if n < needed:
        raise UserError(f"{n} episodes cannot fill {needed} non-empty splits; sample at least {needed}")
    exact = [r * n for r in ratios]
    counts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(ratios)), key=lambda i: counts[i] - exact[i])
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    for i, r in enumerate(ratios):
        if r > 0 and counts[i] == 0:
            counts[counts.index(max(counts))] -= 1
            counts[i] = 1
    return counts


def link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def build_split(folder: Path, files: list[Path]) -> None:
    """Fill a fresh temporary folder, then swap it in for ``folder`` (whose old copy is then removed)."""
    tmp = temp_dir_beside(folder)
    try:
        for i, src in enumerate(files):
            link_or_copy(src, tmp / f"episode_{i:06d}.npz")
        old = None
        if folder.exists():
            old = temp_dir_beside(folder)
            folder.rename(old / folder.name)
        tmp.rename(folder)
        if old is not None:
            shutil.rmtree(old)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@cli_entry
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    game = game_folder(args.env_name)
    source = args.root / game / "source"
    how = f"run genie-sample --env_name {game} --root {args.root}" if game in GAMES else "put episode files there"
    if not source.is_dir():
        raise UserError(f"{source}: folder not found; {how} first")
    files = EpisodeDataset(source).paths
    if not files:
        raise UserError(f"{source}: no episode files (episode_*.npz); {how} first")
    for path in files:
        Episode.check(path)  # a damaged file is named now, not when fit or eval reads it
    counts = split_counts(len(files), tuple(args.ratios))
    order = np.random.default_rng(args.seed).permutation(len(files))
    bounds = np.cumsum([0, *counts])
    for name, lo, hi in zip(SPLITS, bounds[:-1], bounds[1:]):
        build_split(source.parent / name, [files[i] for i in sorted(order[lo:hi])])
    summary = ", ".join(f"{name} {count}" for name, count in zip(SPLITS, counts))
    print(f"split {len(files)} episodes from {source}: {summary} (in {source.parent}/{{train,val,test}})")


if __name__ == "__main__":
    main()
