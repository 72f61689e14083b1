"""Architecture configs read from files: published Hydra YAML into our dataclasses, and checks before building.

A config in a checkpoint header or a YAML decides how much memory a model takes, so it is checked before
anything is built: a crafted or damaged file must fail with one line, not divide by zero or allocate
gigabytes (``worldmodels.core.checkpoints.build_strict`` then compares it with the file's tensor shapes).
"""

import dataclasses
import math
import types
import typing

from worldmodels.core.errors import UserError

MAX_INT = 2**20  # no size, count or depth of any of our models comes near this


def known_fields(kind, values: dict | None) -> dict:
    """The entries of ``values`` that are fields of dataclass ``kind``; Hydra's ``_target_`` keys and
    ``${...}`` interpolations are dropped (their values come from elsewhere in our configs)."""
    names = {f.name for f in dataclasses.fields(kind)}
    return {k: v for k, v in (values or {}).items() if k in names and not str(v).startswith("${")}


def not_a_multiple(cfg, big: str, small: str, factor: int = 1) -> list[str]:
    """For the ``problems()`` hooks: a problem unless field ``big`` is a multiple of ``factor`` x field ``small``."""
    need = factor * getattr(cfg, small)
    if getattr(cfg, big) % need == 0:
        return []
    times = f"{factor} x " if factor > 1 else ""
    return [f"{big} {getattr(cfg, big)} is not a multiple of {times}{small} {getattr(cfg, small)}"]


def not_halvable(img_size: int, halvings: int) -> list[str]:
    """For the ``problems()`` hooks: a problem unless an image of ``img_size`` halves ``halvings`` times."""
    return [] if img_size % 2**halvings == 0 else [f"img_size {img_size} is not a multiple of 2^{halvings}"]


def same_lengths(cfg, *names: str) -> list[str]:
    """For the ``problems()`` hooks: a problem unless the list fields ``names`` are equally long."""
    lengths = [len(getattr(cfg, name)) for name in names]
    if len(set(lengths)) == 1:
        return []
    return [f"{', '.join(names)} must be equally long, got lengths {', '.join(map(str, lengths))}"]


def config_problems(cfg, prefix: str = "") -> list[str]:
    """What is wrong with dataclass ``cfg`` (nested ones included): each ``int`` (or list of ints) a whole
    number in [1, MAX_INT] (0 allowed where the field's metadata says ``{"min": 0}``), each ``float`` finite,
    each ``bool`` a bool; then the config's own ``problems()`` hook (divisibility, matching lengths)."""
    problems = []
    hints = typing.get_type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        name, value, kind = prefix + f.name, getattr(cfg, f.name), hints[f.name]
        if dataclasses.is_dataclass(value):
            problems += config_problems(value, f"{name}.")
            continue
        optional = typing.get_origin(kind) in (typing.Union, types.UnionType) and type(None) in typing.get_args(kind)
        if optional:
            if value is None:
                continue
            kind = next(k for k in typing.get_args(kind) if k is not type(None))
        low = f.metadata.get("min", 1)
        if typing.get_origin(kind) is list:
            if not isinstance(value, list) or not all(_whole(v, low) for v in value):
                problems.append(f"{name} must be a list of whole numbers from {low} to {MAX_INT}, got {value!r}")
        elif kind is int and not _whole(value, low):
            problems.append(f"{name} must be a whole number from {low} to {MAX_INT}, got {value!r}")
        elif kind is float and not (_number(value) and math.isfinite(value) and value >= f.metadata.get("min", 0)):
            problems.append(f"{name} must be a finite number, at least {f.metadata.get('min', 0)}, got {value!r}")
        elif kind is bool and not isinstance(value, bool):
            problems.append(f"{name} must be true or false, got {value!r}")
    if not problems and hasattr(cfg, "problems"):  # the hooks assume well-typed fields
        problems += [prefix + p for p in cfg.problems()]
    return problems


def checked(cfg, source: str):
    """``cfg`` if ``config_problems`` finds nothing, else a one-line UserError naming ``source``."""
    problems = config_problems(cfg)
    if problems:
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        raise UserError(f"{source}: bad model config: {'; '.join(problems[:3])}{more}")
    return cfg


def _whole(value, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= MAX_INT


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
