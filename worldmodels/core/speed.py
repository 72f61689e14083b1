"""Faster inference: torch.compile, and CUDA graphs on CUDA.

Both are opt-in: they change the arithmetic a little (frames agree within fp tolerance; the
``scripts/bench_*.py`` benchmarks print both the speed-up and the largest difference to eager) and the
first calls compile. Half precision is ``worldmodels.core.device.autocast``.
"""

import torch
from torch import nn

from worldmodels.core.errors import UserError


def speed_up(
    module: nn.Module,
    methods: tuple[str, ...] = ("denoise",),
    compile: bool = False,
    cuda_graphs: bool = False,
    dynamic: bool | None = False,
) -> nn.Module:
    """Compile ``module``'s ``methods``; ``cuda_graphs`` also replays them as CUDA graphs (CUDA only).

    The parameters and ``state_dict`` are untouched (each compiled function shadows its method).
    ``dynamic=False`` suits fixed shapes (DIAMOND); ``None`` lets a growing context (Oasis) share one graph.
    """
    if cuda_graphs and next(module.parameters()).device.type != "cuda":
        raise UserError("--cuda-graphs needs the model on a CUDA device")
    if compile or cuda_graphs:
        mode = "reduce-overhead" if cuda_graphs else "default"
        for name in methods:
            setattr(module, name, torch.compile(getattr(module, name), mode=mode, dynamic=dynamic))
    return module


def compile_notice(compile: bool, cuda_graphs: bool) -> None:
    """Say why the first frames are slow: compilation happens on first use, not here."""
    if compile or cuda_graphs:
        print("torch.compile: the first frames compile the model (a minute or more), then it runs fast", flush=True)
