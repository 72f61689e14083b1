"""Atomic file writes: outputs appear whole or not at all, even if a run is killed halfway."""

import contextlib
import os
import tempfile
from pathlib import Path


def temp_beside(path: Path) -> str:
    """A new temporary file next to ``path`` that keeps its suffix (writers pick formats from it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    return tmp


def commit(tmp: str, path: Path) -> None:
    """Move a finished temp file into place with the usual file mode (mkstemp makes 0600 files)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def discard(tmp: str) -> None:
    if os.path.exists(tmp):
        os.remove(tmp)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; on success it becomes ``path``, on error it is removed."""
    path = Path(path)
    tmp = temp_beside(path)
    try:
        yield tmp
        commit(tmp, path)
    finally:
        discard(tmp)
