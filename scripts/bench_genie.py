"""Genie speed at the default (paper CoinRun) sizes, random weights:
- MaskGIT frames per second of the dynamics model, decoding with the cached past frames against the uncached
  baseline (every step reruns the whole window), measured in the same run;
- training throughput (video frames per second through a full optimizer step) of the tokenizer and of the
  LAM + dynamics pair, fp32 (the baseline) against half-precision autocast on CUDA.

  python scripts/bench_genie.py                        # CPU: batch 1, 4 context frames, 25 steps; 1 training clip
  python scripts/bench_genie.py --threads 1            # CPU with other jobs running: avoids thread contention
  python scripts/bench_genie.py --device cuda --repeats 10 --train-batch 48
"""

import argparse
from functools import partial

import torch
from benchmark import attempt, measure, report

from worldmodels.core.device import autocast, pick_device
from worldmodels.genie.dynamics import DynamicsConfig, DynamicsModel
from worldmodels.genie.latent_action import LatentActionConfig, LatentActionModel
from worldmodels.genie.maskgit import sample_next_frame
from worldmodels.genie.tokenizer import TokenizerConfig, VideoTokenizer


def next_frame(model, tokens, actions, steps: int, use_cache: bool) -> torch.Tensor:
    generator = torch.Generator(tokens.device).manual_seed(0)
    return sample_next_frame(model, tokens, actions, steps, generator=generator, use_cache=use_cache)


def optimizer_step(loss_fn, optimizer, device, half: bool) -> None:
    with autocast(device, enabled=half):
        loss = loss_fn()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def tokenizer_loss(tokenizer: VideoTokenizer, video: torch.Tensor) -> torch.Tensor:
    reconstruction, _, vq_loss = tokenizer(video)
    return torch.nn.functional.mse_loss(reconstruction.float(), video) + vq_loss


def genie_loss(tokenizer: VideoTokenizer, lam: LatentActionModel, dynamics: DynamicsModel, video) -> torch.Tensor:
    """The ``genie fit`` step: frozen tokenizer, then the LAM and dynamics losses together."""
    with torch.no_grad():
        tokens = tokenizer.encode(video).flatten(-2)
    _, actions, lam_loss = lam(video)
    return lam_loss + dynamics.loss(tokens, actions)[0]


def training(device, batch: int, frames: int, repeats: int, sync) -> None:
    torch.manual_seed(0)
    video = (torch.rand(batch, frames, 3, 64, 64) * 2 - 1).to(device)
    tokenizer = VideoTokenizer(TokenizerConfig()).to(device)
    lam = LatentActionModel(LatentActionConfig()).to(device)
    dynamics = DynamicsModel(DynamicsConfig(tokens_per_frame=tokenizer.tokens_per_frame)).to(device)
    stages = {  # the tokenizer trains in its own stage and stays frozen in eval mode in the next, as in genie fit
        "tokenizer": (partial(tokenizer_loss, tokenizer, video), tokenizer.parameters(), True),
        "LAM + dynamics": (
            partial(genie_loss, tokenizer, lam, dynamics, video),
            [*lam.parameters(), *dynamics.parameters()],
            False,
        ),
    }
    for stage, (loss_fn, params, tokenizer_trains) in stages.items():
        tokenizer.train(tokenizer_trains)
        optimizer = torch.optim.AdamW(params, lr=1e-5)
        timings = []
        for name in ["fp32"] + (["half autocast"] if device.type == "cuda" else []):
            step = partial(optimizer_step, loss_fn, optimizer, device, "half" in name)
            per_call = batch * frames
            timing = attempt(
                name, partial(measure, name, step, warmup=1, repeats=repeats, items_per_call=per_call, sync=sync)
            )
            timings += [timing] if timing else []
        report(f"Genie {stage} training, batch {batch} x {frames} frames ({device.type})", timings, unit="frames")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None)
    parser.add_argument("--context", type=int, default=4, help="past frames before the decoded one")
    parser.add_argument("--steps", type=int, default=25, help="MaskGIT steps per frame")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (1 is faster on a busy 2-core VM)")
    parser.add_argument("--train-batch", type=int, default=None, help="clips per training step (CPU 1, CUDA 48)")
    parser.add_argument("--no-train", action="store_true", help="skip the training throughput")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    repeats = args.repeats or (10 if device.type == "cuda" else 2)
    sync = torch.cuda.synchronize if device.type == "cuda" else None

    torch.manual_seed(0)
    cfg = DynamicsConfig()
    model = DynamicsModel(cfg).to(device).eval()
    tokens = torch.randint(cfg.num_codes, (args.batch, args.context, cfg.tokens_per_frame), device=device)
    actions = torch.randint(cfg.num_actions, (args.batch, args.context), device=device)

    timings, frames = [], {}
    for name, use_cache in [("uncached (whole window per step)", False), ("cached past keys/values", True)]:
        fn = partial(next_frame, model, tokens, actions, args.steps, use_cache)
        timings.append(measure(name, fn, warmup=1, repeats=repeats, items_per_call=args.batch, sync=sync))
        frames[name] = fn()
    title = (
        f"Genie dynamics (12 layers, d 512, 1024 codes), MaskGIT {args.steps} steps, batch {args.batch}, "
        f"{args.context} context frames ({device.type})"
    )
    report(title, timings, unit="frames")
    for t in timings:
        print(f"{t.name}: {t.median:.2f} s per frame, {t.throughput:.4f} frames/s")
    same = torch.equal(*frames.values())
    print(f"cached and uncached decode the same frame: {same}")
    if not args.no_train:
        batch = args.train_batch or (48 if device.type == "cuda" else 1)
        training(device, batch, DynamicsConfig().max_frames, repeats, sync)


if __name__ == "__main__":
    main()
