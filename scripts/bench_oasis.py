"""Oasis speed: seconds per generated frame with the context cache vs the reference's full-window loop.

Measured at a full 32-frame window with 10 DDIM steps. Always: the published size in FLOPs (on the meta
device, nothing is computed) and a reduced-width model timed eager vs torch.compile. With --published (the
default on CUDA) the 500M model (random weights) is timed too, in half precision on CUDA, eager and with
torch.compile / CUDA graphs, and the published VAE decoder apart (fp32 vs compiled, TF32, fp16). Compiled
variants must match eager (the first frame's latent, within TOLERANCE); the script exits 1 when one does
not. On CUDA each variant also prints where a frame's time goes (context pass, steps, rest), and the
reduced model generates a filling, then sliding window compiled with CUDA graphs, checked against eager.

  python scripts/bench_oasis.py                 # CPU: reduced model + published-size FLOP ratio
  python scripts/bench_oasis.py --no-published  # CUDA: skip the 500M model
  python scripts/bench_oasis.py --quick         # CUDA: 500M eager vs CUDA graphs, then the filling-window check
  python scripts/bench_oasis.py --quick --profile  # ... and the top GPU kernels of the CUDA-graph variant
"""

import argparse
import sys
import time
from functools import partial

import torch
from benchmark import attempt, measure, report
from torch.utils.flop_counter import FlopCounterMode

from worldmodels.core.device import pick_device
from worldmodels.oasis import DiT, DiTConfig, OasisSampler, VAEConfig, ViTVAE, compile_dit

WINDOW, STEPS = 32, 10
TOLERANCE = {False: 1e-4, True: 5e-2}  # max |latent - eager| of a compiled variant, in fp32 / half precision
FILL_TOLERANCE = 1e-2  # the same over 34 frames in fp32, each conditioned on the earlier ones


def full_window_sampler(cfg: DiTConfig, device, use_cache: bool, half: bool, variant: str = "") -> OasisSampler:
    """A sampler whose history already fills the window, so each new frame sees 31 context frames."""
    torch.manual_seed(0)
    dit = DiT(cfg).to(device).eval()
    compile_dit(dit, "compile" in variant, "graphs" in variant)
    vae = ViTVAE(VAEConfig(dim=32, heads=2, enc_depth=1, dec_depth=1)).to(device).eval()  # decoding is timed apart
    sampler = OasisSampler(dit, vae, ddim_steps=STEPS, use_cache=use_cache, half=half)
    g = torch.Generator().manual_seed(1)
    prompt = torch.randn(1, WINDOW, 16, 18, 32, generator=g).to(device)
    sampler.reset(prompt, torch.zeros(1, WINDOW, 25, device=device))
    return sampler


def next_frame(sampler: OasisSampler) -> torch.Tensor:
    return sampler.next_frame(torch.zeros(1, 25))  # the window stays full: the sampler keeps its newest frames


def print_phases(label: str, sampler: OasisSampler, frames: int = 5) -> None:
    """Where a frame's time goes: the context pass, the denoising steps and the rest (the DDIM updates,
    Python), each synchronized, so the parts add up to a little more than an unsynchronized frame."""
    dit, spent = sampler.dit, {"context": 0.0, "step": 0.0}
    methods = {name: getattr(dit, name) for name in spent}  # the compiled functions, where compiled

    def timed(name, fn):
        def run(*args):
            torch.cuda.synchronize()
            start = time.perf_counter()
            out = fn(*args)
            torch.cuda.synchronize()
            spent[name] += time.perf_counter() - start
            return out

        return run

    for name, fn in methods.items():
        setattr(dit, name, timed(name, fn))
    start = time.perf_counter()
    for _ in range(frames):
        next_frame(sampler)
    torch.cuda.synchronize()
    total = time.perf_counter() - start
    for name, fn in methods.items():
        setattr(dit, name, fn)
    parts = {**spent, "rest": total - sum(spent.values())}
    print(f"  {label}, ms a frame: " + ", ".join(f"{k} {v / frames * 1e3:.1f}" for k, v in parts.items()))


def print_top_kernels(sampler: OasisSampler, frames: int = 3) -> None:
    """The GPU kernels that take the most time over a few frames (CUDA graph replays included)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(frames):
            next_frame(sampler)
        torch.cuda.synchronize()
    print(prof.key_averages().table(sort_by="device_time_total", row_limit=15, max_name_column_width=70))


def time_model(
    name: str, cfg: DiTConfig, device, half: bool, repeats: int, variants: list[str], profile: bool = False
) -> bool:
    """Time each variant; the first new frame (same seed) is compared with the cached eager one. False when a
    compiled variant's frame is further from eager than TOLERANCE."""
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    timings, first = [], {}

    def run(label: str) -> None:
        # Compile afresh: after 8 compilations of one function (earlier variants and model sizes) dynamo
        # silently falls back to eager, which would time eager under a compiled variant's name.
        torch._dynamo.reset()
        sampler = full_window_sampler(cfg, device, "cache" in label, half, label)
        torch.manual_seed(0)
        frame = next_frame(sampler).float()  # also compiles, outside the timing
        timings.append(measure(label, partial(next_frame, sampler), warmup=1, repeats=repeats, sync=sync))
        first[label] = frame
        if sync:
            print_phases(label, sampler)
            if profile and label == variants[-1]:
                print_top_kernels(sampler)

    for label in ["full window every step (reference)", "context cache", *variants]:
        attempt(label, partial(run, label))
    reference = first.get("context cache")
    diffs = (
        {label: (frame - reference).abs().max().item() for label, frame in first.items()}
        if reference is not None
        else {}
    )
    report(f"Oasis {name}: one new frame at a full {WINDOW}-frame window, {STEPS} DDIM steps", timings, "frames")
    print("max |latent - context cache| on the first frame:", {k: round(v, 6) for k, v in diffs.items()})
    off = {k: v for k, v in diffs.items() if "compile" in k and v > TOLERANCE[half]}
    for label, diff in off.items():
        print(f"FAILED: {label} differs from eager by {diff:.2g} (tolerance {TOLERANCE[half]})")
    missing = [label for label in ["context cache", *variants] if label not in first]
    if missing:
        print(f"FAILED: no frame from {', '.join(missing)}")
    return not off and not missing


def window_fill(cfg: DiTConfig, device, variant: str) -> torch.Tensor:
    """Latents of WINDOW + 2 frames after a one-frame prompt (fp32): the cache grows by one frame at a time,
    then the window slides, so a compiled variant meets every context length that play does."""
    torch._dynamo.reset()
    torch.manual_seed(0)
    dit = DiT(cfg).to(device).eval()
    compile_dit(dit, "compile" in variant, "graphs" in variant)
    vae = ViTVAE(VAEConfig(dim=32, heads=2, enc_depth=1, dec_depth=1)).to(device).eval()
    sampler = OasisSampler(dit, vae, ddim_steps=STEPS)
    sampler.reset(torch.zeros(1, 1, 16, 18, 32, device=device), torch.zeros(1, 1, 25, device=device))
    torch.manual_seed(1)
    return torch.stack([sampler.next_frame(torch.zeros(1, 25)) for _ in range(WINDOW + 2)], 1)


def check_window_fill(cfg: DiTConfig, device, variant: str) -> bool:
    """The compiled variant against eager over a filling, then sliding window (CUDA graphs are recorded
    for each context length). False when it fails or drifts beyond FILL_TOLERANCE."""
    eager = window_fill(cfg, device, "")
    start = time.perf_counter()
    frames = attempt(variant, partial(window_fill, cfg, device, variant))
    if frames is None:
        print(f"FAILED: {variant} over a filling window")
        return False
    diff = (frames - eager).abs().max().item()
    print(
        f"window filling then sliding ({WINDOW + 2} frames after one), {variant}: max |latent - eager| "
        f"{diff:.2g} ({time.perf_counter() - start:.0f} s with compilation)"
    )
    if diff > FILL_TOLERANCE:
        print(f"FAILED: {variant} differs from eager by {diff:.2g} over a filling window (tolerance {FILL_TOLERANCE})")
    return diff <= FILL_TOLERANCE


def time_decoder(device, repeats: int) -> None:
    """The published ViT-VAE decoder turning one latent into a 640x360 frame: fp32 as the reference (the
    baseline) vs compiled, TF32 and fp16 autocast, with the largest pixel difference to the baseline."""
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    torch.manual_seed(0)
    vae = ViTVAE(VAEConfig()).to(device).eval()
    sampler = OasisSampler(DiT(DiTConfig(hidden_size=64, depth=1, num_heads=1)).to(device), vae)
    latent = torch.randn(1, 16, 18, 32, device=device)
    eager, compiled = vae.decode, torch.compile(vae.decode)

    def decode(compile: bool, tf32: bool, fp16: bool) -> torch.Tensor:
        vae.decode = compiled if compile else eager
        torch.backends.cuda.matmul.allow_tf32 = tf32
        try:
            with torch.autocast(device.type, dtype=torch.float16, enabled=fp16):
                return sampler.decode(latent)
        finally:
            torch.backends.cuda.matmul.allow_tf32 = False

    variants = {"fp32 (reference)": (False, False, False), "fp32 + compile": (True, False, False)}
    if device.type == "cuda":
        variants |= {"TF32": (False, True, False), "fp16 autocast": (False, False, True)}
        variants |= {"fp16 autocast + compile": (True, False, True)}
    timings, frames = [], {}
    for label, flags in variants.items():
        run = partial(decode, *flags)
        frames[label] = attempt(label, run)
        if frames[label] is not None:
            timings.append(measure(label, run, warmup=2, repeats=repeats, sync=sync))
    report("Oasis ViT-VAE decoder (published size), one frame", timings, "frames")
    reference = frames["fp32 (reference)"].int()
    diffs = {k: (v.int() - reference).abs().max().item() for k, v in frames.items() if v is not None}
    print("max |pixel - fp32| (0-255):", diffs)


def count_flops(fn) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return counter.get_total_flops()


def published_flops() -> None:
    """FLOPs of one new frame at the published size, computed on the meta device."""
    with torch.device("meta"):
        dit = DiT(DiTConfig())
        x = torch.randn(1, WINDOW, 16, 18, 32)
        t = torch.full((1, WINDOW), 14)
        a = torch.zeros(1, WINDOW, 25)
        one = (x[:, -1:], t[:, -1:], a[:, -1:])
        uncached = STEPS * count_flops(lambda: dit(x, t, a))
        cache = dit.context(x[:, :-1], t[:, :-1], a[:, :-1])
        context = count_flops(lambda: dit.context(x[:, :-1], t[:, :-1], a[:, :-1]))
        step = count_flops(lambda: dit.step(*one, cache))
        extend = count_flops(lambda: dit.context(*one, cache))
    sliding = context + STEPS * step
    growing = extend + STEPS * step
    print(f"Oasis 500M, FLOPs per new frame at a full {WINDOW}-frame window ({STEPS} DDIM steps, linear layers):")
    print(f"  reference (whole window every step)    {uncached / 1e12:8.2f} TFLOP   (baseline)")
    print(f"  cache, window sliding (context once)   {sliding / 1e12:8.2f} TFLOP   {uncached / sliding:.1f}x fewer")
    print(f"  cache, window filling (extend by one)  {growing / 1e12:8.2f} TFLOP   {uncached / growing:.1f}x fewer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None)
    parser.add_argument(
        "--published", action=argparse.BooleanOptionalAction, help="time the 500M model (default: on CUDA)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="CUDA: the top kernels of the last 500M variant")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short device check: no reduced-model timings, "
        "and of the compiled variants only the last (CUDA graphs on CUDA)",
    )
    args = parser.parse_args()
    device = pick_device(args.device)
    cuda = device.type == "cuda"
    published_flops()
    variants = ["context cache + compile"] + (["context cache + compile + CUDA graphs"] if cuda else [])
    reduced = DiTConfig(hidden_size=256, depth=4, num_heads=4)
    ok = True
    if args.quick:
        variants = variants[-1:]
    else:
        ok = time_model("reduced (d 256, 4 blocks)", reduced, device, cuda, args.repeats, variants)
    if args.published if args.published is not None else cuda:
        ok &= time_model("500M (random weights)", DiTConfig(), device, cuda, args.repeats, variants, args.profile)
        time_decoder(device, args.repeats)
    if cuda:  # last: the timings above are printed even if this runs out of time
        ok &= check_window_fill(reduced, device, variants[-1])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
