"""Oasis training speed: frames per second through one diffusion-forcing training step (forward, backward,
AdamW), and its peak memory, eager vs torch.compile.

Sizes: ``small`` is configs/oasis/small.yaml (pixel-space 64x64 CoinRun, 8-frame clips, batch 8); on CUDA
(or with --published) also the published 500M on VAE latents (16 x 18 x 32, its 32-frame window, batch 1,
random weights) in bf16, with and without activation checkpointing of its blocks. Each variant runs in a
fresh process, so its memory peak is its own. The baseline row is the eager run of each size.

  python scripts/bench_oasis_train.py              # CPU: the small model
  python scripts/bench_oasis_train.py --published  # + the 500M (a GPU with about 24 GB; minutes on a CPU)
"""

import argparse
from functools import partial

import torch
from benchmark import PeakMemory, Timing, attempt, in_fresh_process, measure, report

from worldmodels.core.device import pick_device
from worldmodels.oasis import DiT, DiTConfig
from worldmodels.oasis.diffusion_forcing import DiffusionForcing

SIZES = {
    # name: (DiT config, batch, frames, channels, height, width)
    "small": (DiTConfig(8, 3, 128, 4, 4, 4.0, 15, 8), 8, 8, 3, 64, 64),
    "published": (DiTConfig(), 1, 32, 16, 18, 32),
}


def checkpointed(dit: DiT) -> DiT:
    """Recompute each block's activations in the backward pass instead of keeping them."""
    from torch.utils.checkpoint import checkpoint

    for block in dit.blocks:
        block.forward = (lambda f: lambda *a, **k: checkpoint(f, *a, use_reentrant=False, **k))(block.forward)
    return dit


def time_variant(size: str, variant: str, device_name: str, repeats: int) -> tuple[list[float], float, float]:
    """(seconds per step, frames per step, peak MB) of one training-step variant, in this process."""
    device = pick_device(device_name)
    cfg, batch, frames, c, h, w = SIZES[size]
    torch.manual_seed(0)
    dit = DiT(cfg).to(device).train()
    if "checkpointing" in variant:
        checkpointed(dit)
    optimizer = torch.optim.AdamW(dit.parameters(), lr=1e-5)
    objective = DiffusionForcing()
    x0 = torch.randn(batch, frames, c, h, w, device=device)
    actions = torch.zeros(batch, frames, cfg.external_cond_dim, device=device)
    dtype = torch.bfloat16 if "bf16" in variant else None
    model = torch.compile(dit) if "compile" in variant else dit

    def step():
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = objective.loss(model, x0, actions)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    sync = torch.cuda.synchronize if device.type == "cuda" else None
    with PeakMemory(device) as peak:
        timing = measure(f"{size} {variant}", step, warmup=2, repeats=repeats, items_per_call=batch * frames, sync=sync)
    return timing.seconds, batch * frames, peak.mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None, help="default: cuda when present, else cpu")
    parser.add_argument("--published", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = pick_device(args.device)
    published = args.published if args.published is not None else device.type == "cuda"
    precision = "bf16" if device.type == "cuda" else "fp32"
    plan = [("small", f"eager {precision}"), ("small", f"compile {precision}")]
    if published:
        plan += [("published", "eager bf16"), ("published", "eager bf16 checkpointing")]
        plan += [("published", "compile bf16 checkpointing")]
    print(f"device: {device}; one training step (forward, backward, AdamW) per call, frames/s = batch x frames")
    for size in dict.fromkeys(s for s, _ in plan):
        timings, peaks = [], []
        for variant in (v for s, v in plan if s == size):
            result = attempt(variant, partial(in_fresh_process, time_variant, size, variant, args.device, args.repeats))
            if result is not None:
                seconds, frames, mb = result
                timings.append(Timing(f"{size} {variant}", seconds, frames))
                peaks.append(f"  {size} {variant}: peak memory {mb:,.0f} MB")
        report(f"\nOasis training, {size}", timings, unit="frames")
        print("\n".join(peaks))


if __name__ == "__main__":
    main()
