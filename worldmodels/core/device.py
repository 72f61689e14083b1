"""The one place that decides where models run and in which precision."""

import contextlib

import torch

from worldmodels.core.errors import UserError


def pick_device(requested: str | None = None) -> torch.device:
    """CUDA if present, then Apple MPS, then CPU; ``requested`` (e.g. "cpu", "cuda:1") overrides."""
    if requested:
        try:
            device = torch.device(requested)
        except RuntimeError as e:
            raise UserError(f"--device {requested!r} is not a torch device ({e})") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise UserError(f"--device {requested}: CUDA is not available on this machine")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise UserError(f"--device {requested}: Apple MPS is not available on this machine")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """Half precision on CUDA (bf16 where the GPU has it, else fp16); full precision elsewhere."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device, enabled: bool = True, dtype: torch.dtype | None = None, cache: bool = True):
    """Autocast context for inference and training; a no-op where ``autocast_dtype`` says fp32.

    ``dtype`` overrides the half type where a reference fixes it (Oasis runs in fp16). ``cache`` keeps each
    weight's half copy until the context ends: it saves casts when a weight is used several times inside,
    and costs memory (a half copy of the model) when each is used once.
    """
    default = autocast_dtype(device)
    if not enabled or default is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype or default, cache_enabled=cache)
