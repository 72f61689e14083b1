"""Faster sampling for DIAMOND on CUDA: half-precision autocast, torch.compile, CUDA graphs.

Eager fp32 stays the default because it reproduces the published models bit for bit; these options
change the arithmetic a little (frames agree within fp tolerance; ``scripts/bench_diamond.py`` prints
both the speed-up and the largest difference).
"""

import contextlib

import torch

from worldmodels.core.device import autocast


def speed_up(denoiser, compile: bool = False, cuda_graphs: bool = False):
    """Compile ``denoiser.denoise``; ``cuda_graphs`` also records it as a CUDA graph (fixed shapes, CUDA only).

    The module's parameters and ``state_dict`` are untouched (the compiled function shadows the method).
    """
    if cuda_graphs and denoiser.device.type != "cuda":
        raise ValueError("CUDA graphs need the model on a CUDA device")
    if compile or cuda_graphs:
        mode = "reduce-overhead" if cuda_graphs else "default"
        denoiser.denoise = torch.compile(denoiser.denoise, mode=mode, dynamic=False)
    return denoiser


def precision_context(device: torch.device, half: bool):
    """bf16/fp16 autocast on CUDA when ``half``; full precision otherwise."""
    return autocast(device) if half else contextlib.nullcontext()
