"""DIAMOND speed: world-model frames per second (3 Euler steps) and training steps per second for the
published Atari architecture (random weights), against the eager fp32 loop measured in the same run.

  python scripts/bench_diamond.py                      # CPU: batch 1, a short run
  python scripts/bench_diamond.py --batch-sizes 1 32   # GPU: the issue's table, with compile/CUDA graphs
"""

import argparse
from functools import partial

import torch
from benchmark import attempt, measure, report

from worldmodels.core.device import autocast, pick_device
from worldmodels.core.speed import speed_up
from worldmodels.diamond import Agent, AgentConfig, DiffusionSampler
from worldmodels.diffusion.edm import SigmaDistribution


def make_inputs(batch: int, device: torch.device, num_actions: int = 18):
    g = torch.Generator().manual_seed(0)
    obs = (torch.rand(batch, 4, 3, 64, 64, generator=g) * 2 - 1).to(device)
    act = torch.randint(0, num_actions, (batch, 4), generator=g).to(device)
    return obs, act


def fresh_agent(device: torch.device) -> Agent:
    torch.manual_seed(0)
    return Agent(AgentConfig()).to(device).eval()


def sample_once(sampler, obs, act, device, half: bool) -> torch.Tensor:
    with autocast(device, enabled=half):
        torch.manual_seed(0)
        return sampler.sample(obs, act)[0]


def train_step(denoiser, optimizer, batch, device, half: bool) -> None:
    with autocast(device, enabled=half):
        loss = denoiser.loss(*batch, SigmaDistribution())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def sampling(device: torch.device, batch: int, repeats: int, variants: list[str]) -> None:
    obs, act = make_inputs(batch, device)
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    timings = []
    frames = {}

    def run(name: str) -> None:
        torch._dynamo.reset()  # compile afresh: earlier variants' graphs would count towards the recompile limit
        agent = fresh_agent(device)
        speed_up(agent.denoiser, compile="compile" in name, cuda_graphs="graphs" in name)
        sample = partial(sample_once, DiffusionSampler(agent.denoiser), obs, act, device, "half" in name)
        timings.append(measure(name, sample, warmup=3, repeats=repeats, items_per_call=batch, sync=sync))
        frames[name] = sample().float()

    for name in ["eager fp32", *variants]:
        attempt(name, partial(run, name))
    reference = frames.get("eager fp32")
    diffs = {name: (f - reference).abs().max().item() for name, f in frames.items()} if reference is not None else {}
    report(f"World-model sampling, batch {batch}, 3 Euler steps ({device.type})", timings, unit="frames")
    print("max |frame - eager fp32| per variant:", {k: round(v, 5) for k, v in diffs.items()})


def training(device: torch.device, batch: int, repeats: int, half: bool) -> None:
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    obs = (torch.rand(batch, 5, 3, 64, 64) * 2 - 1).to(device)
    act, mask = torch.randint(0, 18, (batch, 5), device=device), torch.ones(batch, 5, dtype=torch.bool, device=device)
    timings = []
    for name in ["eager fp32"] + (["autocast half"] if half else []):
        denoiser = fresh_agent(device).denoiser.train()
        optimizer = torch.optim.AdamW(denoiser.parameters(), lr=1e-4)
        step = partial(train_step, denoiser, optimizer, (obs, act, mask), device, "half" in name)
        timings.append(measure(name, step, warmup=2, repeats=repeats, items_per_call=1, sync=sync))
    report(f"Denoiser training step, batch {batch} ({device.type})", timings, unit="steps")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default=None)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=None)
    parser.add_argument("--train-batch", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile (slow to warm up on CPU)")
    args = parser.parse_args()
    device = pick_device(args.device)
    cuda = device.type == "cuda"
    batch_sizes = args.batch_sizes or ([1, 32] if cuda else [1])
    repeats = args.repeats or (50 if cuda else 5)
    variants = ["autocast half"] if cuda else []
    if not args.no_compile:
        variants += ["compile"] + (["compile + CUDA graphs", "compile + CUDA graphs + half"] if cuda else [])
    for batch in batch_sizes:
        sampling(device, batch, repeats, variants)
    training(device, args.train_batch or (32 if cuda else 4), max(3, repeats // 5), half=cuda)


if __name__ == "__main__":
    main()
