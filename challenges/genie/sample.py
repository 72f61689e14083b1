"""genie-sample: play procgen games in parallel and store every episode losslessly for Genie.

Each episode becomes ``<root>/<game>/source/episode_<n>.npz`` (uint8 64 x 64 x 3 frames plus the true
actions and rewards, see worldmodels.data.episodes); the true actions let us measure later how well the
latent actions recover them. ``--preview`` adds ``<root>/<game>/preview/episode_<n>.mp4``. The same
command after an interrupted run continues it up to ``--num_episodes`` (``source/sample.json`` keeps the
settings of the last run).
"""

import argparse
import json
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from worldmodels.core.errors import UserError, cli_entry
from worldmodels.core.files import atomic_path
from worldmodels.data.episodes import Episode, EpisodeDataset
from worldmodels.envs.procgen import FPS, POLICIES, resolve_game

MANIFEST = "sample.json"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genie-sample", description=__doc__.splitlines()[0])
    parser.add_argument("--env_name", default="Coinrun", help="procgen game, any case (default: Coinrun)")
    parser.add_argument("--num_envs", type=int, default=10, help="games played in parallel (default: 10)")
    parser.add_argument("--timeout", type=int, default=1000, help="cut episodes after this many steps (default: 1000)")
    parser.add_argument("--root", type=Path, default=Path("data"), help="data folder (default: ./data)")
    parser.add_argument("--num_episodes", type=int, help="episodes to store (default: --num_envs)")
    parser.add_argument("--seed", type=int, default=0, help="same seed and flags -> identical files (default: 0)")
    parser.add_argument("--distribution_mode", choices=("easy", "hard"), default="hard", help="(default: hard)")
    parser.add_argument(
        "--policy",
        choices=POLICIES,
        default="random",
        help="sticky repeats actions; moves: sticky over the game's distinct movements, evenly (default: random)",
    )
    parser.add_argument("--start_level", type=int, default=0, help="first procgen level seed (default: 0)")
    parser.add_argument("--num_levels", type=int, default=0, help="level seeds to draw from; 0 = unlimited")
    parser.add_argument(
        "--frame_skip", type=int, default=1, help="game steps per stored frame, the action held (default: 1)"
    )
    parser.add_argument("--preview", action="store_true", help="also write an MP4 per episode")
    parser.add_argument("--append", action="store_true", help="add to a source folder that already has episodes")
    return parser


def check_args(args: argparse.Namespace) -> None:
    for flag in ("num_envs", "timeout", "num_episodes", "frame_skip"):
        if getattr(args, flag) < 1:
            raise UserError(f"--{flag} {getattr(args, flag)}: must be at least 1")
    for flag in ("start_level", "num_levels"):
        if getattr(args, flag) < 0:
            raise UserError(f"--{flag} {getattr(args, flag)}: must not be negative")


def write(episode: Episode, path: Path, preview: Path | None, fps: float) -> None:
    """The preview first: an episode file on disk means its preview is there too (a resumed run skips both)."""
    if preview is not None:
        from worldmodels.core.video import write_video

        write_video(preview, episode.obs, fps=fps)
    episode.save(path)


def run_settings(args: argparse.Namespace, game: str) -> dict:
    """Everything that decides which episodes a run plays: the same settings give the same episodes."""
    names = ("num_envs", "timeout", "num_episodes", "seed", "distribution_mode", "policy", "start_level", "num_levels")
    names += ("frame_skip",)
    return {"game": game} | {name: getattr(args, name) for name in names}


def first_episode_id(args: argparse.Namespace, game: str, dataset: EpisodeDataset) -> int:
    """Where this run's episodes are numbered from: a new run starts after the folder's episodes; the same
    command after an interrupted run continues it (``sample.json`` records the last run's settings)."""
    manifest = dataset.root / MANIFEST
    settings = run_settings(args, game)
    try:
        last = json.loads(manifest.read_text()) if manifest.is_file() else None
    except ValueError:
        last = None
    if not args.append and last is not None and last.get("settings") == settings:
        return last["first_id"]
    if dataset.paths and not args.append:
        raise UserError(
            f"{dataset.root}: already holds {len(dataset.paths)} episodes of another run; pass --append to add "
            "more (with a new --seed, or the episodes repeat) or choose another --root"
        )
    first_id = dataset.next_id
    with atomic_path(manifest) as tmp:
        Path(tmp).write_text(json.dumps({"settings": settings, "first_id": first_id}, indent=1) + "\n")
    return first_id


@cli_entry
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.num_episodes = args.num_envs if args.num_episodes is None else args.num_episodes
    check_args(args)
    game = resolve_game(args.env_name)
    source, preview = args.root / game / "source", args.root / game / "preview"
    first_id = first_episode_id(args, game, EpisodeDataset(source))
    names = [f"episode_{first_id + k:06d}" for k in range(args.num_episodes)]
    done = sum((source / f"{name}.npz").is_file() for name in names)
    if done == args.num_episodes:
        print(f"{source}: all {done} episodes of this run are there already")
        return

    from worldmodels.envs.procgen import rollout

    episodes = rollout(
        game,
        args.num_envs,
        args.num_episodes,
        args.timeout,
        policy=args.policy,
        seed=args.seed,
        distribution_mode=args.distribution_mode,
        start_level=args.start_level,
        num_levels=args.num_levels,
        frame_skip=args.frame_skip,
    )
    # Compressing an episode costs about three times as long as playing it, so writers run beside the
    # rollout (zlib and the video encoder release the GIL); a bounded queue keeps memory flat.
    workers = min(4, os.cpu_count() or 1)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    columns += (TimeElapsedColumn(), TimeRemainingColumn())
    num_frames, pending = 0, deque()
    with ThreadPoolExecutor(workers) as pool, Progress(*columns, transient=True) as progress:
        task = progress.add_task(f"{game} episodes", total=args.num_episodes, completed=done)
        for name, episode in zip(names, episodes):  # the same settings play the same episodes in the same order
            num_frames += len(episode)
            if (source / f"{name}.npz").is_file():
                continue  # written before this run was interrupted
            video = preview / f"{name}.mp4" if args.preview else None
            pending.append(pool.submit(write, episode, source / f"{name}.npz", video, FPS / args.frame_skip))
            while len(pending) > 2 * workers or (pending and pending[0].done()):
                pending.popleft().result()
            progress.update(task, advance=1, description=f"{game} episodes ({num_frames} frames)")
        while pending:
            pending.popleft().result()
    continued = f", continuing a run that had {done}" if done else ""
    print(f"wrote {args.num_episodes - done} episodes{continued} ({num_frames} frames in all) to {source}")
    if args.preview:
        print(f"previews (MP4, {FPS / args.frame_skip:g} fps) in {preview}")


if __name__ == "__main__":
    main()
