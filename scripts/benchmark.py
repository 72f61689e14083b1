"""Benchmark harness: time callables with warm-up and repeats, print medians and ratios to a baseline.

Every ``scripts/bench_*.py`` uses it; ``make bench`` runs them all. Benchmarks are not tests.
"""

import os
import resource
import statistics
import threading
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
    resident memory it adds to the process, sampled every few ms (Linux; elsewhere the process's lifetime
    peak, ``ru_maxrss``, which also counts earlier work)."""

    def __init__(self, device: torch.device, interval: float = 0.005):
        self.device, self.interval, self.mb = device, interval, 0.0
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "PeakMemory":
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        elif os.path.exists("/proc/self/statm"):
            self._start = self._peak = self._resident_mb()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    @staticmethod
    def _resident_mb() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def _sample(self) -> None:
        while not self._done.wait(self.interval):
            self._peak = max(self._peak, self._resident_mb())

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            self.mb = torch.cuda.max_memory_allocated() / 2**20
        elif self._thread is not None:
            self._done.set()
            self._thread.join()
            self.mb = max(self._peak, self._resident_mb()) - self._start
        else:
            self.mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
