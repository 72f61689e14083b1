"""Benchmark harness: time callables with warm-up and repeats, print medians and ratios to a baseline.

Every ``scripts/bench_*.py`` uses it; ``make bench`` runs them all. Benchmarks are not tests.
"""

import concurrent.futures
import multiprocessing
import os
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass
class Timing:
    name: str
    seconds: list[float]
    items_per_call: float = 1.0  # frames, samples, ... per call, for the throughput column

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def throughput(self) -> float:
        return self.items_per_call / self.median


def measure(
    name: str,
    fn: Callable[[], object],
    warmup: int = 2,
    repeats: int = 10,
    items_per_call: float = 1.0,
    sync: Callable[[], None] | None = None,
) -> Timing:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times timed; ``sync`` waits for the GPU."""
    for _ in range(warmup):
        fn()
    if sync:
        sync()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if sync:
            sync()
        seconds.append(time.perf_counter() - start)
    timing = Timing(name, seconds, items_per_call)
    print(f"  {name}: median {timing.median * 1e3:.3f} ms", flush=True)  # the table comes at the end
    return timing


def attempt(name: str, fn: Callable[[], object]) -> object | None:
    """``fn()``, or None after one line saying why it failed: one broken variant must not lose the others."""
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - a benchmark reports any failure and goes on
        print(f"  {name}: failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", flush=True)
        return None


def report(title: str, timings: list[Timing], unit: str = "items") -> str:
    """A table with the median time, throughput and speed-up relative to the first (baseline) row."""
    if not timings:
        print(f"{title}: nothing measured")
        return ""
    baseline, width = timings[0], max(32, *(len(t.name) for t in timings))
    lines = [f"{title}", f"{'':{width}} {'median ms':>10} {unit + '/s':>12} {'vs baseline':>12}"]
    for t in timings:
        ratio = baseline.median / t.median
        tag = "(baseline)" if t is baseline else f"{ratio:.2f}x"
        lines.append(f"{t.name:{width}} {t.median * 1e3:10.3f} {t.throughput:12.1f} {tag:>12}")
    text = "\n".join(lines)
    print(text)
    return text


class PeakMemory:
    """Memory (MB) a ``with`` block needs at its peak: the CUDA allocator's peak on ``cuda``; elsewhere the
    process's peak resident memory minus what it held on entry. Freed memory stays with the process, so on
    a CPU measure each variant in a fresh one (``in_fresh_process``)."""

    def __init__(self, device: torch.device):
        self.device, self.mb = device, 0.0

    def __enter__(self) -> "PeakMemory":
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        self._start = _resident_mb()
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            self.mb = torch.cuda.max_memory_allocated() / 2**20
        else:
            self.mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - self._start


def _resident_mb() -> float:
    """Resident memory now (Linux); 0 where /proc is missing, so the peak counts the whole process."""
    if not os.path.exists("/proc/self/statm"):
        return 0.0
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def in_fresh_process(fn: Callable, *args):
    """``fn(*args)`` in a new Python process (``fn`` must live at module level): nothing an earlier variant
    allocated or compiled is left over, and its memory peak is its own."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(fn, *args).result()
