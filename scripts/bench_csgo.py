"""DIAMOND CS:GO speed: frames per second of the two-stage world model at the published size (random
weights) for both sampler presets, fp32 eager (the baseline) vs half precision and torch.compile, with
peak memory.

  python scripts/bench_csgo.py                    # CPU: batch 1, fast preset, fp32 eager vs compile
  python scripts/bench_csgo.py --higher-quality   # also the 3 + 10 step preset (slow on CPU)
"""

import argparse
import gc
import resource
from functools import partial

import torch
from benchmark import attempt, measure, report

from worldmodels.core.device import pick_device
from worldmodels.core.speed import speed_up
from worldmodels.diamond.csgo import CSGOAgent, CSGOConfig, CSGOWorldModel, Spawn


def fake_spawn(device) -> Spawn:
    g = torch.Generator().manual_seed(0)
    low = torch.rand(4, 3, 30, 56, generator=g) * 2 - 1
    full = torch.rand(4, 3, 150, 280, generator=g) * 2 - 1
    act = torch.zeros(4, 51)
    return Spawn(low.to(device), full.to(device), act.to(device), act.to(device), {})


def peak_memory_mb(device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the whole process, in MB


def run_preset(preset: str, device, repeats: int, variants: list[str]) -> None:
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    timings, memory = [], {}

    def run(name: str) -> None:
        gc.collect()  # a compiled method holds its module in a cycle: free the last variant before measuring
        if device.type == "cuda":
            torch.cuda.empty_cache()
        torch.manual_seed(0)
        agent = CSGOAgent(CSGOConfig()).to(device).eval()
        for denoiser in (agent.denoiser, agent.upsampler):
            speed_up(denoiser, compile="compile" in name, cuda_graphs="graphs" in name)
        wm = CSGOWorldModel(agent, preset, half="half" in name)
        wm.reset(fake_spawn(device))
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        step = partial(wm.step, torch.zeros(51, device=device))
        timings.append(measure(name, step, warmup=2, repeats=repeats, sync=sync))
        memory[name] = peak_memory_mb(device)

    for name in ["eager fp32", *variants]:
        attempt(name, partial(run, name))
    report(f"CS:GO world model, preset {preset}, batch 1 ({device.type})", timings, unit="frames")
    print("peak memory (MB):", {k: round(v) for k, v in memory.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--higher-quality", action="store_true", help="also time the higher_quality preset")
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args()
    device = pick_device(args.device)
    cuda = device.type == "cuda"
    repeats = args.repeats or (20 if cuda else 2)
    variants = ["autocast half"] if cuda else []
    if not args.no_compile:
        variants += ["compile"] + (["compile + CUDA graphs + half"] if cuda else [])
    run_preset("fast", device, repeats, variants)
    if args.higher_quality or cuda:
        run_preset("higher_quality", device, max(1, repeats // 2), variants)


if __name__ == "__main__":
    main()
