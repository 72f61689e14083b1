"""Genie speed: MaskGIT frames per second of the CoinRun-size dynamics model (random weights), decoding with the
cached past frames against the uncached baseline (every step reruns the whole window), measured in the same run.

  python scripts/bench_genie.py                        # CPU: batch 1, 4 context frames, 25 steps
  python scripts/bench_genie.py --threads 1            # CPU with other jobs running: avoids thread contention
  python scripts/bench_genie.py --device cuda --repeats 10
"""

import argparse
from functools import partial

import torch
from benchmark import measure, report

from worldmodels.core.device import pick_device
from worldmodels.genie.dynamics import DynamicsConfig, DynamicsModel
from worldmodels.genie.maskgit import sample_next_frame


def next_frame(model, tokens, actions, steps: int, use_cache: bool) -> torch.Tensor:
    generator = torch.Generator(tokens.device).manual_seed(0)
    return sample_next_frame(model, tokens, actions, steps, generator=generator, use_cache=use_cache)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None)
    parser.add_argument("--context", type=int, default=4, help="past frames before the decoded one")
    parser.add_argument("--steps", type=int, default=25, help="MaskGIT steps per frame")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (1 is faster on a busy 2-core VM)")
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


if __name__ == "__main__":
    main()
