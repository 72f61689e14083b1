"""Read and write state dicts, and load them strictly with a message a person can act on."""

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from worldmodels.core.config import checked, known_fields
from worldmodels.core.errors import UserError
from worldmodels.core.files import atomic_path
from worldmodels.core.safe_load import load_data

_SHOWN = 5  # how many names of each kind of mismatch to print
_MAX_EXTRA_BUFFER_BYTES = 2**28  # rotary tables and the like: a few MB in our models


def load_tensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A flat name -> tensor dict from a ``.safetensors`` file or a ``.pt`` pickle (loaded safely)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: checkpoint file not found")
    if path.suffix != ".safetensors":
        tensors = load_data(path, "checkpoint")
    else:
        try:
            tensors = load_file(path, device="cpu")
        except (SafetensorError, OSError, ValueError) as e:
            first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise UserError(f"{path}: not a readable checkpoint ({first_line})") from None
    if not isinstance(tensors, Mapping) or not all(isinstance(v, torch.Tensor) for v in tensors.values()):
        raise UserError(f"{path}: expected a flat dict of tensors (a state dict), got {type(tensors).__name__}")
    return dict(tensors)


def load_lightning_checkpoint(path: Path, config_key: str, kind: str, command: str) -> dict:
    """A Lightning ``.ckpt`` of a ``kind`` model written by ``command`` (loaded safely), which keeps the model's
    config under ``config_key`` beside the ``state_dict``; anything else is a one-line error naming the file."""
    checkpoint = load_data(path, "checkpoint")
    if not isinstance(checkpoint, dict) or config_key not in checkpoint or "state_dict" not in checkpoint:
        raise UserError(f"{path}: not a {kind} checkpoint (no {config_key!r}); pass a .ckpt from {command}")
    return checkpoint


def read_trained(path: Path, config_key: str, kind: str, command: str):
    """(config, state dict) of a model this project trained: a Lightning ``.ckpt`` from ``command``, or its
    export, a safetensors file with the config as JSON under ``config_key`` in its header."""
    if not path.is_file():
        raise UserError(f"{path}: {kind} checkpoint not found; train one with {command}")
    if path.suffix != ".safetensors":
        checkpoint = load_lightning_checkpoint(path, config_key, kind, command)
        return checkpoint[config_key], checkpoint["state_dict"]
    config = read_metadata(path).get(config_key)
    if config is None:
        raise UserError(f"{path}: not an exported {kind} model (no {config_key!r} in its header)")
    try:
        return json.loads(config), load_tensors(path)
    except ValueError as e:
        raise UserError(f"{path}: bad {config_key!r} in its header ({e})") from None


def export_trained(
    config, tensors: Mapping[str, torch.Tensor], config_key: str, output: str | os.PathLike, dtype: torch.dtype
) -> Path:
    """The form in which a trained model ships: its floating-point tensors in ``dtype``, one safetensors file
    with the config in the header (``read_trained`` reads it back)."""
    tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()}
    return save_tensors(tensors, output, {config_key: json.dumps(config)})


def save_tensors(
    tensors: Mapping[str, torch.Tensor], path: str | os.PathLike, metadata: dict[str, str] | None = None
) -> Path:
    """Write a state dict atomically (temp file, then rename), as safetensors or a ``.pt`` by suffix.

    Tensors shared under several names (tied weights) are written once per name, as published files do.
    ``metadata`` (strings) goes into the safetensors header.
    """
    path = Path(path)
    seen, out = set(), {}
    for name, tensor in tensors.items():
        tensor = tensor.detach().cpu().contiguous()
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset())
        out[name] = tensor.clone() if key in seen else tensor
        seen.add(key)
    with atomic_path(path) as tmp:
        if path.suffix == ".safetensors":
            save_file(out, tmp, metadata=metadata)
        else:
            torch.save(out, tmp)
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The string metadata in a safetensors header ({} for other files or none)."""
    if Path(path).suffix != ".safetensors":
        return {}
    with safe_open(path, framework="pt") as f:
        return f.metadata() or {}


def with_prefix(tensors: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries under ``prefix.`` with the prefix removed (a published file holds several modules)."""
    start = prefix + "."
    return {k[len(start) :]: v for k, v in tensors.items() if k.startswith(start)}


def describe_mismatch(module: torch.nn.Module, tensors: Mapping[str, torch.Tensor]) -> str | None:
    """None when ``tensors`` fits ``module`` exactly; otherwise a one-line summary of what differs."""
    expected = {k: v.shape for k, v in module.state_dict().items()}
    given = {k: v.shape for k, v in tensors.items()}
    missing = sorted(set(expected) - set(given))
    unexpected = sorted(set(given) - set(expected))
    wrong = [
        f"{k} (file {tuple(given[k])}, model {tuple(expected[k])})"
        for k in sorted(set(expected) & set(given))
        if given[k] != expected[k]
    ]
    parts = []
    for label, names in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
        if names:
            more = f", ... (+{len(names) - _SHOWN} more)" if len(names) > _SHOWN else ""
            parts.append(f"{len(names)} {label}: {', '.join(names[:_SHOWN])}{more}")
    return "; ".join(parts) or None


def build_from_config(model_cls, config_cls, values, tensors: Mapping[str, torch.Tensor], source: str):
    """``model_cls(config_cls(**values))`` loaded strictly with ``tensors``, where ``values`` (a file's header
    or YAML) is checked first: unknown keys are dropped (files of earlier versions), types and ranges are
    checked (``worldmodels.core.config``), then ``build_strict``."""
    if not isinstance(values, Mapping):
        raise UserError(f"{source}: bad model config (expected a mapping of {config_cls.__name__} fields)")
    cfg = checked(config_cls(**known_fields(config_cls, dict(values))), source)
    return build_strict(lambda: model_cls(cfg), tensors, source)


def build_strict(
    factory: Callable[[], torch.nn.Module], tensors: Mapping[str, torch.Tensor], source: str
) -> torch.nn.Module:
    """``factory()`` loaded strictly with ``tensors``, built for real only once it is known to fit them.

    The factory's config comes from a file (a header, a YAML), so the model is first built on the meta device,
    which allocates nothing: a config that cannot be built, that does not match the tensors' shapes, or whose
    buffers would dwarf the weights is refused in one line before any memory is spent on it.
    """
    try:
        with torch.device("meta"):
            shell = factory()
    except Exception as e:  # ZeroDivisionError, RuntimeError (negative sizes), TypeError from a bad config
        raise UserError(f"{source}: cannot build the model its config describes ({type(e).__name__}: {e})") from None
    problem = describe_mismatch(shell, tensors)
    if problem:
        raise UserError(f"{source}: checkpoint does not match {type(shell).__name__}: {problem}")
    weights = sum(t.numel() * t.element_size() for t in tensors.values())
    buffers = sum(b.numel() * b.element_size() for b in shell.buffers())
    if buffers > max(4 * weights, _MAX_EXTRA_BUFFER_BYTES):
        raise UserError(f"{source}: its config asks for {buffers / 2**30:.1f} GiB of buffers beside the weights")
    return load_strict(factory(), tensors, source)


def load_strict(module: torch.nn.Module, tensors: Mapping[str, torch.Tensor], source: str) -> torch.nn.Module:
    """``module.load_state_dict(tensors, strict=True)`` that fails with a readable message naming ``source``."""
    problem = describe_mismatch(module, tensors)
    if problem:
        raise UserError(f"{source}: checkpoint does not match {type(module).__name__}: {problem}")
    module.load_state_dict(tensors, strict=True)
    return module
