"""oasis-play: play Oasis 500M live: keyboard and mouse in, generated Minecraft frames out; or, with
--checkpoint, a small Oasis-architecture model of a game trained by oasis-train. Without the published weights
(not downloaded, no hub) it says so and plays the small Breakout model bundled with the package."""

import argparse
from pathlib import Path

from challenges.oasis.common import (
    DDIM_STEPS,
    OasisUnavailable,
    action_script,
    add_model_arguments,
    check_model_arguments,
    load_models,
)
from worldmodels.core.errors import UserError, cli_entry
from worldmodels.play.cli import add_play_arguments, parse_play_args, run_play


@cli_entry
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="oasis-play", description=__doc__)
    add_model_arguments(parser)
    parser.add_argument("--sensitivity", type=float, default=0.15, help="camera degrees per pixel of mouse motion")
    parser.add_argument("--actions", help="with --headless: replay this action file instead of a random walk")
    game = parser.add_argument_group("a model of your own (oasis-train)")
    game.add_argument("--checkpoint", help="an oasis-train .ckpt (or its export): a game in pixel space")
    game.add_argument("--env_name", default="coinrun", help="its game: procgen's or an Atari one (default: coinrun)")
    game.add_argument(
        "--root", type=Path, help="procgen: the data whose first test frame starts play (default: ./data)"
    )
    add_play_arguments(parser, default_fps=20)
    args = parse_play_args(parser, argv)
    check_model_arguments(args)
    if args.checkpoint:
        play_own_model(args)
        return
    if args.actions and not args.headless:
        raise UserError("--actions replays a file in a headless run: add --headless --frames N --out FILE.mp4")

    from worldmodels.oasis.play import OasisBackend

    script = action_script(args.actions, args.video_offset) if args.actions else None
    if script is not None and len(script) < args.n_prompt_frames + args.frames:
        raise UserError(
            f"{args.actions}: {len(script) - 1} actions from frame {args.video_offset}; --frames {args.frames} after "
            f"{args.n_prompt_frames} prompt frame(s) needs {args.n_prompt_frames + args.frames - 1}"
        )
    try:
        sampler, prompt = load_models(args)
    except OasisUnavailable as e:
        if any(getattr(args, flag) is not None for flag in ("dit", "vae", "prompt", "actions")):
            raise
        play_bundled(args, e.short)
        return
    run_play(OasisBackend(sampler, prompt, args.sensitivity, script), args)


def play_bundled(args: argparse.Namespace, why: str) -> None:
    """The small Oasis-architecture Breakout model shipped with the package, when Oasis 500M can't be had."""
    from worldmodels.core.device import pick_device
    from worldmodels.oasis.train_module import load_trained_dit
    from worldmodels.pretrained import OASIS_BREAKOUT, OASIS_BREAKOUT_CONTROL, OASIS_BREAKOUT_DDIM_STEPS, model_card

    bundled = f"{OASIS_BREAKOUT.name}, see {model_card(OASIS_BREAKOUT)}"
    print(f"{why}; playing the bundled small Breakout model instead ({bundled})", flush=True)
    args.ddim_steps = args.ddim_steps or OASIS_BREAKOUT_DDIM_STEPS
    dit = load_trained_dit(OASIS_BREAKOUT, pick_device(args.device))
    play_game_model(dit, "Breakout", args, {"control": OASIS_BREAKOUT_CONTROL})


def play_own_model(args: argparse.Namespace) -> None:
    """The small model of a game that ``oasis-train`` trained."""
    given = [flag for flag in ("dit", "vae", "prompt", "actions") if getattr(args, flag) is not None]
    if given:
        raise UserError(f"--checkpoint plays a model of your own: drop --{', --'.join(given)}")

    from worldmodels.core.device import pick_device
    from worldmodels.oasis.train_module import load_trained_dit

    play_game_model(load_trained_dit(args.checkpoint, pick_device(args.device)), args.env_name, args)


def play_game_model(dit, env_name: str, args: argparse.Namespace, facts: dict | None = None) -> None:
    """Play a pixel-space DiT of ``env_name`` from a real first frame, with the game's keys: a procgen game
    starts from its data's first test frame (or a fresh level), an Atari game from a fresh game's first frame."""
    import torch

    from worldmodels.envs.procgen import GAMES, NUM_ACTIONS
    from worldmodels.oasis.game_play import OasisGameBackend
    from worldmodels.oasis.sampler import OasisSampler

    torch.manual_seed(args.seed)
    if env_name.strip().lower() in GAMES:
        from challenges.genie.play import default_prompt
        from worldmodels.envs.procgen_keys import ProcgenKeymap

        first = default_prompt(args.root, env_name, args.seed)  # 3 x h x w in [-1, 1]
        prompt = ((first + 1) * 127.5).round().clamp(0, 255).byte().permute(1, 2, 0).numpy()
        keymap, num_actions = ProcgenKeymap(), NUM_ACTIONS
    else:
        from worldmodels.envs.atari import DiamondAtari

        game = DiamondAtari(env_name, seed=args.seed)
        prompt, keymap, num_actions = game.reset(), game.keymap(), game.num_actions
    if dit.cfg.external_cond_dim != num_actions:
        raise UserError(
            f"the model takes {dit.cfg.external_cond_dim} actions and {env_name} has {num_actions}: "
            "is --env_name the game it was trained on?"
        )
    sampler = OasisSampler(
        dit, None, ddim_steps=args.ddim_steps or DDIM_STEPS, use_cache=not args.no_cache, half=not args.fp32
    )
    run_play(OasisGameBackend(sampler, prompt, keymap, f"{env_name} (Oasis-architecture model)", facts), args)


if __name__ == "__main__":
    main()
