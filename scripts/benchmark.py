"""Benchmark harness: time callables with warm-up and repeats, print medians and ratios to a baseline.

Every ``scripts/bench_*.py`` uses it; ``make bench`` runs them all. Benchmarks are not tests.
"""

import concurrent.futures
import multiprocessing
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
    process's peak resident memory during the block minus what it held on entry (Linux resets the peak
    through /proc; elsewhere the lifetime peak counts, so measure each variant in a fresh process with
    ``in_fresh_process``: freed memory also stays with a process)."""

    def __init__(self, device: torch.device):
        self.device, self.mb = device, 0.0

    def __enter__(self) -> "PeakMemory":
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        else:
            _reset_peak_resident()
        self._start = _proc_status_mb("VmRSS")
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            self.mb = torch.cuda.max_memory_allocated() / 2**20
        else:
            peak = _proc_status_mb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            self.mb = peak - self._start


def _reset_peak_resident() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM, the peak resident set (Linux 4.0+)
    except OSError:
        pass


def _proc_status_mb(field: str) -> float:
    """A memory field of /proc/self/status in MB; 0 where there is no /proc (not Linux)."""
    try:
        with open("/proc/self/status") as f:
            line = next(line for line in f if line.startswith(field + ":"))
    except (OSError, StopIteration):
        return 0.0
    return int(line.split()[1]) / 1024


def in_fresh_process(fn: Callable, *args):
    """``fn(*args)`` in a new Python process (``fn`` must live at module level): nothing an earlier variant
    allocated or compiled is left over, and its memory peak is its own."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(fn, *args).result()
