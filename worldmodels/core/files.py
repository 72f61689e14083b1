"""Atomic file writes: outputs appear whole or not at all, even if a run is killed halfway.

A temporary file is hidden and named after the process writing it (``.episode_000003.tmp4242-x1y2.npz``).
A killed process (SIGKILL, power loss) cannot remove its own, so the first write into a folder removes the
temporary files there whose process is gone; those of a live process (another run writing into the same
folder) are left alone.
"""

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

_TEMP_NAME = re.compile(r"^\..*\.tmp(\d+)-")
_cleaned: set[Path] = set()


def temp_beside(path: Path) -> str:
    """A new temporary file next to ``path`` that keeps its suffix (writers pick formats from it)."""
    _prepare(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_prefix(path.stem), suffix=path.suffix)
    os.close(fd)
    return tmp


def temp_dir_beside(path: Path) -> Path:
    """A new temporary folder next to ``path``, to fill and then rename into place."""
    _prepare(path.parent)
    return Path(tempfile.mkdtemp(dir=path.parent, prefix=_prefix(path.name)))


def remove_stale_temps(folder: Path) -> list[Path]:
    """Remove the temporary files and folders in ``folder`` left by processes that no longer run."""
    removed = []
    for entry in folder.glob(".*.tmp*-*"):
        match = _TEMP_NAME.match(entry.name)
        if match and not _running(int(match.group(1))):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def _prefix(name: str) -> str:
    return f".{name}.tmp{os.getpid()}-"


def _prepare(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if folder.resolve() not in _cleaned:
        remove_stale_temps(folder)
        _cleaned.add(folder.resolve())


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


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
