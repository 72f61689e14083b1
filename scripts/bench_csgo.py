"""DIAMOND CS:GO speed: frames per second of the two-stage world model at the published size (random
weights) for both sampler presets, fp32 eager (the baseline) vs half precision and torch.compile, with
peak memory per variant (CUDA: allocator peak; CPU: resident memory the variant adds), each variant in a
fresh process.

  python scripts/bench_csgo.py                 # CPU: batch 1, fp32 vs compile (+ bf16 autocast, fast preset)
  python scripts/bench_csgo.py --fast-only     # skip the 3 + 10 step preset (about 8x slower)
  python scripts/bench_csgo.py --quick         # a short device check: fast preset, eager vs half vs graphs
"""

import argparse
import contextlib
from functools import partial

import torch
from benchmark import PeakMemory, Timing, attempt, in_fresh_process, measure, report

from worldmodels.core.device import pick_device
from worldmodels.core.speed import speed_up
from worldmodels.diamond.csgo import CSGOAgent, CSGOConfig, CSGOWorldModel, Spawn


def fake_spawn(device) -> Spawn:
    g = torch.Generator().manual_seed(0)
    low = torch.rand(4, 3, 30, 56, generator=g) * 2 - 1
    full = torch.rand(4, 3, 150, 280, generator=g) * 2 - 1
    act = torch.zeros(4, 51)
    return Spawn(low.to(device), full.to(device), act.to(device), act.to(device), {})


def variant(preset: str, device: str, repeats: int, name: str) -> tuple[Timing, float]:
    """Time one variant (its name says which: half, bf16, compile, graphs) and measure its peak memory."""
    device = torch.device(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    with PeakMemory(device) as peak:  # the model's weights included
        torch.manual_seed(0)
        agent = CSGOAgent(CSGOConfig()).to(device).eval()
        for denoiser in (agent.denoiser, agent.upsampler):
            speed_up(denoiser, compile="compile" in name, cuda_graphs="graphs" in name)
        # On CUDA the world model's own --half autocast; on CPU (where --half keeps fp32) bf16 autocast here,
        # with the cast cache only where --half keeps it.
        wm = CSGOWorldModel(agent, preset, half="half" in name)
        cpu_bf16 = contextlib.nullcontext()
        if "bf16" in name:
            cpu_bf16 = torch.autocast("cpu", dtype=torch.bfloat16, cache_enabled=wm.cast_cache)
        wm.reset(fake_spawn(device))
        action = torch.zeros(51, device=device)

        def step():
            with cpu_bf16:
                wm.step(action)

        slow = "bf16" in name  # about 35x slower than fp32 on a CPU without bf16 instructions: one timed call
        timing = measure(name, step, warmup=0 if slow else 2, repeats=1 if slow else repeats, sync=sync)
    return timing, peak.mb


def run_preset(preset: str, device, repeats: int, variants: list[str]) -> None:
    """Each variant in a fresh process, so that neither memory nor compiled code carries over."""
    timings, memory = [], {}
    for name in ["eager fp32", *variants]:
        result = attempt(name, partial(in_fresh_process, variant, preset, str(device), repeats, name))
        if result is not None:
            timings.append(result[0])
            memory[name] = result[1]
    report(f"CS:GO world model, preset {preset}, batch 1 ({device.type})", timings, unit="frames")
    print("peak memory (MB):", {k: round(v) for k, v in memory.items()}, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--fast-only", action="store_true", help="only the fast preset")
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--quick", action="store_true", help="a short device check: the fast preset, no fp32 compile")
    args = parser.parse_args()
    device = pick_device(args.device)
    cuda = device.type == "cuda"
    repeats = args.repeats or (20 if cuda else 3)
    variants = ["autocast half"] if cuda else ["autocast bf16 (CPU)"]
    if not args.no_compile:
        variants += ["compile"] + (["compile + CUDA graphs + half"] if cuda else [])
    if args.quick:
        variants = [v for v in variants if v != "compile"]
    run_preset("fast", device, repeats, variants)
    # On CPU bf16 would take minutes a frame here: its ratio shows in the fast preset.
    if not (args.fast_only or args.quick):
        run_preset("higher_quality", device, max(1, repeats // 3), [v for v in variants if "bf16" not in v])


if __name__ == "__main__":
    main()
