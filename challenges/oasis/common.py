"""Options and loading shared by oasis-play and oasis-generate."""

import argparse
from pathlib import Path

from worldmodels.core.errors import UserError
from worldmodels.core.video import IMAGE_SUFFIXES
from worldmodels.oasis.load import DIT_FILE, HUB_REPO, VAE_FILE
from worldmodels.oasis.prompt import SAMPLE_PROMPT_URL, sample_prompt, sample_prompt_cache
from worldmodels.pretrained import OASIS_BREAKOUT_DDIM_STEPS

DDIM_STEPS = 10  # the reference's
LOCAL = Path("data/oasis")  # where `make challenge3` looks for the weights before asking the hub
SAMPLE_PROMPT = "sample_image_0.png"
PROMPT_HINT = f"save {SAMPLE_PROMPT_URL} as {LOCAL / SAMPLE_PROMPT} for the default prompt frame"


class OasisUnavailable(UserError):
    """The published weights are neither local nor cached, and the hub can't deliver them; ``short`` says so
    in a few words (for the line before playing the bundled small model instead)."""

    def __init__(self, message: str, short: str):
        super().__init__(message)
        self.short = short


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument(
        "--dit", help=f"DiT weights: a file or hf://owner/repo/file (default: {LOCAL / DIT_FILE}, else the hub)"
    )
    group.add_argument("--vae", help=f"ViT-VAE weights (default: {LOCAL / VAE_FILE}, else the hub)")
    group.add_argument("--prompt", help="PNG/JPEG/MP4 to start from (default: the open-oasis sample frame)")
    group.add_argument("--n-prompt-frames", type=int, default=1, help="frames of a video prompt to use")
    group.add_argument("--video-offset", type=int, default=0, help="first frame of a video prompt (and its actions)")
    group.add_argument(
        "--ddim-steps",
        type=int,
        help=f"denoising steps a frame (default: {DDIM_STEPS}; the bundled Breakout model: "
        f"{OASIS_BREAKOUT_DDIM_STEPS})",
    )
    group.add_argument("--no-cache", action="store_true", help="recompute the context every step (the reference)")
    group.add_argument("--fp32", action="store_true", help="full precision on CUDA (default: fp16 autocast)")
    group.add_argument("--compile", action="store_true", help="torch.compile the DiT and the VAE decoder")
    group.add_argument("--cuda-graphs", action="store_true", help="replay the compiled DiT as CUDA graphs")
    group.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    group.add_argument("--offline", action="store_true", help="use only files already downloaded")
    group.add_argument("--seed", type=int, default=0)


def check_model_arguments(args: argparse.Namespace) -> None:
    """Refuse bad numbers before the (slow) model loading."""
    if args.n_prompt_frames < 1:
        raise UserError(f"--n-prompt-frames must be at least 1, got {args.n_prompt_frames}")
    if args.video_offset < 0:
        raise UserError(f"--video-offset must be 0 or more, got {args.video_offset}")
    if args.ddim_steps is not None and args.ddim_steps < 1:
        raise UserError(f"--ddim-steps must be at least 1, got {args.ddim_steps}")
    if args.cuda_graphs and args.no_cache:
        raise UserError("--cuda-graphs replays the cached denoising step; it does nothing with --no-cache")
    image_prompt = args.prompt is None or Path(args.prompt).suffix.lower() in IMAGE_SUFFIXES
    if image_prompt and args.n_prompt_frames > 1:
        raise UserError(f"--n-prompt-frames {args.n_prompt_frames} needs a video --prompt (an image is one frame)")


def action_script(path: str, video_offset: int = 0):
    """An action file as the reference conditions on it: the zero action, then the file's actions from
    ``video_offset`` on (the prompt's frames and the file's actions skip the same number of steps)."""
    import torch

    from worldmodels.oasis.actions import load_actions

    actions = load_actions(path)
    return torch.cat([actions[:1], actions[1 + video_offset :]])


def weights(given: str | None, name: str) -> str:
    if given is not None:
        return given
    local = LOCAL / name
    return str(local) if local.is_file() else f"hf://{HUB_REPO}/{name}"


def has_sample_prompt() -> bool:
    return (LOCAL / SAMPLE_PROMPT).is_file() or sample_prompt_cache().is_file()


def sample_prompt_path(offline: bool):
    """The release's sample frame: in data/oasis/, in the cache, or downloaded."""
    local = LOCAL / SAMPLE_PROMPT
    if local.is_file():
        return local
    try:
        return sample_prompt(offline)
    except UserError as e:
        raise UserError(f"{e}, or {PROMPT_HINT}") from None


def load_models(args: argparse.Namespace):
    """(sampler, prompt) from the parsed options, with one clear message when the weights are missing."""
    import torch

    from worldmodels.core.device import pick_device
    from worldmodels.core.hub import HubUnavailable, hf_command
    from worldmodels.core.speed import compile_notice, speed_up
    from worldmodels.oasis import OasisSampler, compile_dit, load_dit, load_vae
    from worldmodels.oasis.prompt import load_prompt

    # a given prompt is read before the slow loading, so a wrong path fails at once
    prompt = load_prompt(args.prompt, args.n_prompt_frames, args.video_offset) if args.prompt is not None else None
    torch.manual_seed(args.seed)
    device = pick_device(args.device)
    try:
        dit = load_dit(weights(args.dit, DIT_FILE), device=device, offline=args.offline)
        vae = load_vae(weights(args.vae, VAE_FILE), device=device, offline=args.offline)
    except HubUnavailable:
        if args.dit is not None and args.vae is not None:
            raise
        why = "--offline" if args.offline else "the hub is unreachable"
        raise OasisUnavailable(
            f"Oasis needs {DIT_FILE} and {VAE_FILE} (hub repo {HUB_REPO}): they are not in {LOCAL}/, not cached, "
            f"and {why}. On a connected machine run `{hf_command()} download {HUB_REPO} {DIT_FILE} {VAE_FILE} "
            f"--local-dir {LOCAL}` and put both files in {LOCAL}/ (or pass --dit PATH --vae PATH)"
            + ("" if prompt is not None or has_sample_prompt() else f"; {PROMPT_HINT}"),
            f"Oasis 500M ({DIT_FILE}, {VAE_FILE}): not in {LOCAL}/, not cached, and {why}",
        ) from None
    compile_dit(dit, args.compile, args.cuda_graphs)
    # the decoder stays fp32, as the reference's; compiled it takes 6.7 instead of 10.8 ms a frame (H200)
    speed_up(vae, ("decode",), compile=args.compile or args.cuda_graphs)
    compile_notice(args.compile, args.cuda_graphs)
    if prompt is None:
        prompt = load_prompt(sample_prompt_path(args.offline), args.n_prompt_frames, args.video_offset)
    # half: fp16 autocast for the DiT and the encoder on CUDA, as the reference runs them
    sampler = OasisSampler(
        dit, vae, ddim_steps=args.ddim_steps or DDIM_STEPS, use_cache=not args.no_cache, half=not args.fp32
    )
    return sampler, prompt
