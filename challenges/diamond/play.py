"""diamond-play: play DIAMOND's world models (published or your own) in the shared play app."""

import argparse
import sys
from pathlib import Path

from worldmodels.core.errors import UserError, cli_entry
from worldmodels.play.cli import add_play_arguments, parse_play_args, run_play

DATA = Path("data/diamond")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="diamond-play", description=__doc__)
    source = parser.add_argument_group("model")
    source.add_argument("-p", "--pretrained", action="store_true", help="use a published Atari 100k model (hub)")
    source.add_argument(
        "--game",
        help="Atari 100k game, e.g. Breakout (asked for when missing), or csgo; with --checkpoint also a "
        "gymnasium id such as CartPole-v1",
    )
    source.add_argument("--checkpoint", help="a local agent checkpoint (.pt) or hf://owner/repo/path")
    source.add_argument("--config", help="agent config YAML (default: beside the checkpoint, else published)")
    source.add_argument(
        "--offline", action="store_true", help="use only the hub cache; without the file, the bundled model (Breakout)"
    )
    source.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    play = parser.add_argument_group("DIAMOND")
    play.add_argument("-n", "--num-steps-initial-collect", type=int, help="real steps for WM starts (1000)")
    play.add_argument("--horizon", type=int, help="imagined steps before a reset (Atari 50, CS:GO 1000)")
    play.add_argument("--num-steps-denoising", type=int, help="sampler steps per frame (3)")
    play.add_argument("-r", "--record", action="store_true", help="save played episodes as datasets")
    play.add_argument("-d", "--dataset", nargs="?", const=DATA / "recordings", type=Path, help="browse datasets")
    play.add_argument("--seed", type=int, default=0)
    csgo = parser.add_argument_group("CS:GO (--game csgo)")
    csgo.add_argument("--csgo-dir", help="a local csgo/ folder (model/csgo.pt, spawn/...) instead of the hub")
    csgo.add_argument("--preset", default="fast", choices=["fast", "higher_quality"], help="sampler settings")
    csgo.add_argument("--mouse-multiplier", type=float, default=10.0, help="mouse motion scale")
    csgo.add_argument("--size-multiplier", type=int, default=2, help="window = 280 x 150 times this")
    speed = parser.add_argument_group("speed (CUDA)")
    speed.add_argument("--half", action="store_true", help="bf16/fp16 autocast for the world model")
    speed.add_argument("--compile", action="store_true", help="torch.compile the denoiser")
    speed.add_argument("--cuda-graphs", action="store_true", help="replay the denoiser as a CUDA graph")
    add_play_arguments(parser, default_fps=15)
    return parser


def half_notice(half: bool, device) -> None:
    """--half is a CUDA option (autocast stays off elsewhere): say so rather than ignore it silently."""
    if half and device.type != "cuda":
        print(f"--half: half precision is for CUDA GPUs; the model runs in fp32 on {device.type}", flush=True)


def pick_game(args: argparse.Namespace) -> str:
    from worldmodels.diamond.agent import ATARI_100K_GAMES, canonical_game

    if args.game:
        game = canonical_game(args.game)
        if game is None:
            raise UserError(f"--game {args.game}: not an Atari 100k game ({', '.join(ATARI_100K_GAMES)})")
        return game
    if args.headless or not sys.stdin.isatty():
        raise UserError(f"--game is required here; one of: {', '.join(ATARI_100K_GAMES)}")
    for i, name in enumerate(ATARI_100K_GAMES):
        print(f"{i:2d}. {name}")
    answer = input("Game number or name: ").strip()
    listed = answer.isdigit() and int(answer) < len(ATARI_100K_GAMES)
    game = ATARI_100K_GAMES[int(answer)] if listed else canonical_game(answer)
    if game is None:
        raise UserError(f"{answer!r}: not one of the listed games")
    return game


@cli_entry
def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parse_play_args(parser, argv)
    for name, flag in (
        ("horizon", "--horizon"),
        ("num_steps_initial_collect", "-n"),
        ("num_steps_denoising", "--num-steps-denoising"),
        ("size_multiplier", "--size-multiplier"),
    ):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"{flag} must be at least 1, got {getattr(args, name)}")
    if args.dataset is not None:
        from worldmodels.play.dataset_viewer import DatasetViewer

        run_play(DatasetViewer(args.dataset), args)
        return
    if (args.game or "").lower() == "csgo":
        play_csgo(args)
        return
    for name, default in (("num_steps_initial_collect", 1000), ("horizon", 50), ("num_steps_denoising", 3)):
        if getattr(args, name) is None:
            setattr(args, name, default)
    if not args.pretrained and not args.checkpoint:
        raise UserError("say which model to play: --pretrained [--game NAME] or --checkpoint PATH")

    from worldmodels.core.device import pick_device
    from worldmodels.core.speed import compile_notice, speed_up
    from worldmodels.data.episodes import EpisodeDataset
    from worldmodels.diamond.agent import Agent, canonical_game, load_agent
    from worldmodels.diamond.games import is_atari, make_game
    from worldmodels.diamond.play import DiamondBackend, collect_starts

    device = pick_device(args.device)
    half_notice(args.half, device)
    if args.checkpoint:
        if args.game:  # an Atari 100k game by any of its names, or any gymnasium id the model was trained on
            game = pick_game(args) if is_atari(args.game) else args.game
        else:
            game = canonical_game(Path(args.checkpoint).stem)
        if game is None:
            raise UserError(f"{args.checkpoint}: cannot tell the game from the file name; pass --game")
        agent = load_agent(args.checkpoint, config=args.config, device=device, offline=args.offline)
        if not isinstance(agent, Agent):
            raise UserError(f"{args.checkpoint}: the CS:GO world model; play it with --game csgo --csgo-dir FOLDER")
        name = f"{game.replace('/', '_')}_{Path(args.checkpoint).stem}"  # names repeat across runs and games
    else:
        game = pick_game(args)
        agent, name = load_published_or_bundled(game, args, device)
    env = make_game(game, seed=args.seed)
    if agent.cfg.num_actions != env.num_actions:
        raise UserError(
            f"{args.checkpoint or game}: the model has {agent.cfg.num_actions} actions and {game} has "
            f"{env.num_actions}; pass the --game it was trained on"
        )
    speed_up(agent.denoiser, compile=args.compile, cuda_graphs=args.cuda_graphs)
    compile_notice(args.compile, args.cuda_graphs)
    starts = EpisodeDataset(DATA / "starts" / f"{name}_{args.num_steps_initial_collect}")
    if len(starts) == 0:
        collect_starts(agent, env, args.num_steps_initial_collect, starts)
    backend = DiamondBackend(
        agent,
        game,
        starts,
        horizon=args.horizon,
        sampler_kwargs={"num_steps_denoising": args.num_steps_denoising},
        record_root=DATA / "recordings" if args.record else None,
        seed=args.seed,
        half=args.half,
    )
    run_play(backend, args)


def load_published_or_bundled(game: str, args: argparse.Namespace, device):
    """(agent, name): the published agent from the hub (or its cache); the bundled small one when the hub
    can't deliver it."""
    from worldmodels.core.hub import HubUnavailable
    from worldmodels.diamond.agent import hub_checkpoint, load_agent
    from worldmodels.pretrained import DIAMOND_GAMES, model_card

    try:
        return load_agent(game, config=args.config, device=device, offline=args.offline), game
    except HubUnavailable:
        bundled = DIAMOND_GAMES.get(game)
        if bundled is None:
            raise
    why = "--offline" if args.offline else "the hub is unreachable"
    print(
        f"{hub_checkpoint(game)}: not cached and {why}; playing the bundled small {game} model instead "
        f"({bundled.name}, see {model_card(bundled)})",
        flush=True,
    )
    return load_agent(bundled, device=device), bundled.stem


ATARI_ONLY = {
    "pretrained": "--pretrained",
    "checkpoint": "--checkpoint",
    "config": "--config",
    "num_steps_initial_collect": "-n/--num-steps-initial-collect",
    "num_steps_denoising": "--num-steps-denoising (CS:GO: --preset)",
    "record": "-r/--record (CS:GO: F9 records an MP4)",
}


def play_csgo(args: argparse.Namespace) -> None:
    import torch

    from worldmodels.core.device import pick_device
    from worldmodels.core.speed import compile_notice, speed_up
    from worldmodels.diamond.csgo import CSGOWorldModel, csgo_folder, load_csgo_agent, load_spawns
    from worldmodels.diamond.csgo_play import HORIZON, CSGOBackend

    # -n and --num-steps-denoising are at least 1 by now, so no value of theirs equals False
    given = [flag for name, flag in ATARI_ONLY.items() if getattr(args, name) not in (None, False)]
    if given:
        raise UserError(f"--game csgo does not take {', '.join(given)} (Atari only); use --csgo-dir for a local model")
    torch.manual_seed(args.seed)
    folder = csgo_folder(args.csgo_dir, offline=args.offline)
    spawns = load_spawns(folder)
    device = pick_device(args.device)
    half_notice(args.half, device)
    agent = load_csgo_agent(folder, device=device)
    for denoiser in (agent.denoiser, agent.upsampler):
        speed_up(denoiser, compile=args.compile, cuda_graphs=args.cuda_graphs)
    compile_notice(args.compile, args.cuda_graphs)
    if args.size is None:  # CS:GO's window comes from --size-multiplier unless --size is given
        args.size = 280 * args.size_multiplier
    world_model = CSGOWorldModel(agent, args.preset, args.half)
    horizon = HORIZON if args.horizon is None else args.horizon
    backend = CSGOBackend(world_model, spawns, args.mouse_multiplier, horizon, human=not args.headless)
    run_play(backend, args)


if __name__ == "__main__":
    main()
