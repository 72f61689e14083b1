"""``torch.load`` of data only (``weights_only=True``), with a refusal a person can act on.

When torch refuses a file, its message does not say whether the file was damaged or pickles code, and its
wording changes between releases. So the refusal is explained by what the file holds: its pickle opcodes are
read (never run) for the classes and functions it would import.
"""

import io
import os
import pickletools
import warnings
import zipfile
from pathlib import Path

import torch

from worldmodels.core.errors import UserError

_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING", "STRING"}
_GET_OPS = {"BINGET", "LONG_BINGET", "GET"}
_PUT_OPS = {"BINPUT", "LONG_BINPUT", "PUT"}
_TORCH_OWN = ("torch.", "collections.OrderedDict", "builtins.set", "builtins.frozenset", "_codecs.encode")


def load_data(path: str | os.PathLike, what: str, allowed: list | tuple = ()) -> object:
    """``torch.load(path, weights_only=True)`` with ``allowed`` classes/functions beside torch's own.

    A refusal is one UserError naming the file: "pickles code" with the names it would import when it
    reaches outside torch and ``allowed``, else "not a file written by torch.save, or a damaged one".
    """
    try:
        with torch.serialization.safe_globals(list(allowed)), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # garbage bytes also warn about the pickle protocol: one line is enough
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # UnpicklingError, EOFError, KeyError, RuntimeError: the type alone says nothing
        names = {f"{getattr(a, '__module__', '')}.{getattr(a, '__qualname__', a)}" for a in allowed}
        foreign = sorted(n for n in pickled_globals(path) if n not in names and not n.startswith(_TORCH_OWN))
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" (+{len(foreign) - 3} more)" if len(foreign) > 3 else "")
        raise UserError(f"{path}: not a readable {what}: it pickles code ({shown}); refused without running it")
    raise UserError(f"{path}: not a readable {what} (not a file written by torch.save, or a damaged one)")


def pickled_globals(path: str | os.PathLike) -> set[str]:
    """``module.name`` of every class or function the pickle in ``path`` would import: a plain pickle (or
    several in a row, as legacy torch.save writes) or a torch.save zip's ``data.pkl``. Unreadable: empty."""
    try:
        data = Path(path).read_bytes()
        if zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                member = next((n for n in archive.namelist() if n.endswith("data.pkl")), None)
                data = archive.read(member) if member else b""
    except (OSError, zipfile.BadZipFile):
        return set()
    found, stream = set(), io.BytesIO(data)
    while stream.tell() < len(data):
        try:
            found |= _globals_of_one_pickle(stream)
        except Exception:  # garbage after (or instead of) a pickle: what was read so far counts
            break
    return found


def _globals_of_one_pickle(stream: io.BytesIO) -> set[str]:
    """GLOBAL names its module and name in its argument; STACK_GLOBAL takes the last two strings pushed,
    directly or through the memo."""
    found, strings, memo = set(), [], {}
    pushed = None  # the string the previous opcode pushed, if it pushed one
    for opcode, arg, _ in pickletools.genops(stream):
        name, string = opcode.name, None
        if name == "GLOBAL":
            found.add(arg.replace(" ", "."))
        elif name == "STACK_GLOBAL" and len(strings) >= 2:
            found.add(f"{strings[-2]}.{strings[-1]}")
        elif name in _STRING_OPS:
            string = arg
        elif name in _GET_OPS:
            string = memo.get(arg)
        elif name in _PUT_OPS:
            memo[arg], string = pushed, pushed
        elif name == "MEMOIZE":
            memo[len(memo)], string = pushed, pushed
        if string is not None and name not in _PUT_OPS and name != "MEMOIZE":
            strings.append(string)
        pushed = string
    return found
