import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from benchmark import PeakMemory, Timing, attempt, in_fresh_process, measure, report  # noqa: E402


def test_measure_counts_warmup_and_repeats():
    calls = []
    timing = measure("noop", lambda: calls.append(1), warmup=3, repeats=5, items_per_call=4)
    assert len(calls) == 8 and len(timing.seconds) == 5
    assert timing.throughput == 4 / timing.median


def test_report_ratios_are_relative_to_the_first_row():
    slow, fast = Timing("slow", [0.4, 0.2, 0.3]), Timing("fast", [0.1, 0.1, 0.05])
    text = report("demo", [slow, fast], unit="frames")
    assert "(baseline)" in text.splitlines()[2]
    assert text.splitlines()[3].endswith("3.00x")


def test_a_failing_variant_is_reported_in_one_line_and_the_run_goes_on(capsys):
    def broken():
        raise RuntimeError("CUDA graphs overwrote an output\nlong trace")

    assert attempt("graphs", broken) is None
    assert attempt("eager", lambda: 7) == 7
    assert capsys.readouterr().out == "  graphs: failed: RuntimeError: CUDA graphs overwrote an output\n"


def allocate(megabytes: int) -> float:
    with PeakMemory(torch.device("cpu")) as peak:
        block = np.ones(megabytes * 2**20 // 8)  # written, so resident
        del block
    return peak.mb


def test_peak_memory_counts_the_block_only():
    earlier = np.ones(400 * 2**20 // 8)  # an earlier, higher peak of the process must not count
    del earlier
    assert 190 < allocate(200) < 260  # freed before the end of the block, still counted
    assert 190 < in_fresh_process(allocate, 200) < 260
