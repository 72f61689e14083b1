"""Run the golden tests (``pytest -m golden``) under every kernel set this CPU can be limited to.

oneDNN (convolutions) and ATen (everything else) pick kernels by CPU features and thread count; a golden test
must hold on any CPU a workshop attendee brings. This runs the golden tests once per combination of
``ONEDNN_MAX_CPU_ISA`` (SSE41, AVX2, AVX512_CORE where the CPU has it, and no cap), ``ATEN_CPU_CAPABILITY``
(default, avx2, avx512 where available) and 1 or 2 threads, each in a fresh process, and prints a table.

  python scripts/golden_matrix.py            # all combinations (about 1 minute each on a 2-core CPU)
  python scripts/golden_matrix.py --quick    # the best and the most limited kernel sets only
Exits 1 if any combination fails.
"""

import argparse
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: assume only what every x86-64 CPU of the last decade has
        return {"avx2"}
    line = next((x for x in text.splitlines() if x.startswith("flags")), "")
    return set(line.split(":", 1)[-1].split())


def combinations(quick: bool) -> list[tuple[str, str, int]]:
    flags = cpu_flags()
    isas, capabilities = ["SSE41", "AVX2", "ALL"], ["default", "avx2"]
    if "avx512f" in flags:
        isas.insert(2, "AVX512_CORE")
        capabilities.append("avx512")
    if quick:
        return [("SSE41", "default", 1), ("ALL", capabilities[-1], 2)]
    return list(itertools.product(isas, capabilities, (1, 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two combinations instead of all")
    args = parser.parse_args()
    rows, failed = [], 0
    for isa, capability, threads in combinations(args.quick):
        env = dict(os.environ, ATEN_CPU_CAPABILITY=capability, OMP_NUM_THREADS=str(threads))
        env.pop("ONEDNN_MAX_CPU_ISA", None)
        if isa != "ALL":
            env["ONEDNN_MAX_CPU_ISA"] = isa
        start = time.perf_counter()
        cmd = [sys.executable, "-m", "pytest", "-m", "golden", "-q", "-p", "no:cacheprovider", "-o", "addopts="]
        result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        summary = (result.stdout.strip().splitlines() or ["no output"])[-1]
        failed += result.returncode != 0
        rows.append((isa, capability, threads, "ok" if result.returncode == 0 else "FAILED", summary))
        print(
            f"ONEDNN_MAX_CPU_ISA={isa:<11} ATEN_CPU_CAPABILITY={capability:<7} threads={threads}: {rows[-1][3]:<6} "
            f"{summary} ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    print(f"\n{len(rows) - failed} of {len(rows)} kernel sets pass the golden tests")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
