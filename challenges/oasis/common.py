"""Options and loading shared by oasis-play and oasis-generate."""

import argparse

from worldmodels.core.errors import UserError
from worldmodels.oasis.load import DEFAULT_DIT, DEFAULT_VAE, DIT_FILE, HUB_REPO, VAE_FILE


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument("--dit", default=DEFAULT_DIT, help="DiT weights: a local file or hf://owner/repo/file")
    group.add_argument("--vae", default=DEFAULT_VAE, help="ViT-VAE weights: a local file or hf://owner/repo/file")
    group.add_argument("--prompt", help="PNG/JPEG/MP4 to start from (default: the open-oasis sample frame)")
    group.add_argument("--n-prompt-frames", type=int, default=1, help="frames of a video prompt to use")
    group.add_argument("--video-offset", type=int, default=0, help="first frame of a video prompt")
    group.add_argument("--ddim-steps", type=int, default=10)
    group.add_argument("--no-cache", action="store_true", help="recompute the context every step (the reference)")
    group.add_argument("--half", action="store_true", help="fp16/bf16 autocast (CUDA)")
    group.add_argument("--compile", action="store_true", help="torch.compile the DiT")
    group.add_argument("--cuda-graphs", action="store_true", help="replay the compiled DiT as CUDA graphs")
    group.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    group.add_argument("--offline", action="store_true", help="use only files already downloaded")
    group.add_argument("--seed", type=int, default=0)


def load_models(args: argparse.Namespace):
    """(sampler, prompt) from the parsed options, with one clear message when the weights are missing."""
    import torch

    from worldmodels.core.device import pick_device
    from worldmodels.core.speed import compile_notice
    from worldmodels.oasis import OasisSampler, compile_dit, load_dit, load_vae
    from worldmodels.oasis.prompt import load_prompt, sample_prompt

    if args.cuda_graphs and args.no_cache:
        raise UserError("--cuda-graphs replays the cached denoising step; it does nothing with --no-cache")
    if args.ddim_steps < 1:
        raise UserError(f"--ddim-steps must be at least 1, got {args.ddim_steps}")
    torch.manual_seed(args.seed)
    device = pick_device(args.device)
    try:
        dit = load_dit(args.dit, device=device, offline=args.offline)
        vae = load_vae(args.vae, device=device, offline=args.offline)
    except UserError as e:
        if args.dit == DEFAULT_DIT or args.vae == DEFAULT_VAE:
            raise UserError(
                f"{e}. Oasis needs {DIT_FILE} and {VAE_FILE} from the hub repo {HUB_REPO}: download both and pass "
                "--dit PATH --vae PATH"
            ) from None
        raise
    compile_dit(dit, args.compile, args.cuda_graphs)
    compile_notice(args.compile, args.cuda_graphs)
    prompt = load_prompt(args.prompt or sample_prompt(args.offline), args.n_prompt_frames, args.video_offset)
    sampler = OasisSampler(dit, vae, ddim_steps=args.ddim_steps, use_cache=not args.no_cache, half=args.half)
    return sampler, prompt
