"""Resolve a checkpoint reference to a local file: a path on disk, or a file in a Hugging Face Hub repo.

References look like ``path/to/file.pt``, ``hf://owner/repo/path/in/repo`` or, from code,
``resolve("owner/repo", "path/in/repo")``. Downloads go through ``huggingface_hub`` and its normal
cache, so ``HF_HUB_OFFLINE``, ``HF_HOME`` and ``HF_ENDPOINT`` behave as everywhere else.
"""

import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import huggingface_hub
from huggingface_hub import constants as hf_constants
from huggingface_hub import errors as hf_errors

from worldmodels.core.errors import UserError

HF_PREFIX = "hf://"


class HubUnavailable(UserError):
    """The hub can't be reached (or ``offline`` was asked for) and the file is not in the cache: callers with a
    bundled fallback catch this one, while a wrong repo or file name stays a plain ``UserError``."""


@dataclass(frozen=True)
class HubFile:
    repo_id: str
    filename: str
    revision: str | None = None

    @property
    def url(self) -> str:
        return f"https://huggingface.co/{self.repo_id}/resolve/{self.revision or 'main'}/{self.filename}"

    def __str__(self) -> str:
        return f"{HF_PREFIX}{self.repo_id}/{self.filename}"


def parse_hub_ref(ref: str) -> HubFile:
    """``hf://owner/repo/path/in/repo[@revision]`` -> HubFile."""
    body = ref[len(HF_PREFIX) :]
    body, _, revision = body.partition("@")
    parts = body.split("/", 2)
    if len(parts) < 3 or not all(parts):
        raise UserError(f"{ref}: a hub reference looks like hf://owner/repo/path/in/repo")
    return HubFile(f"{parts[0]}/{parts[1]}", parts[2], revision or None)


def resolve(ref: str | os.PathLike, filename: str | None = None, *, offline: bool = False) -> Path:
    """The local path of a checkpoint given as a path, an ``hf://`` reference, or a repo id + filename.

    ``offline`` (like ``HF_HUB_OFFLINE=1``) only looks in the cache.
    """
    if filename is not None:
        return download(HubFile(str(ref), filename), offline=offline)
    ref_str = os.fspath(ref)
    if ref_str.startswith(HF_PREFIX):
        return download(parse_hub_ref(ref_str), offline=offline)
    path = Path(ref_str).expanduser()
    if not path.exists():
        raise UserError(f"{path}: file not found (for a hub file write hf://owner/repo/path)")
    return path


def hf_command() -> str:
    """How to run huggingface_hub's ``hf`` command here: it is installed beside this Python (``.venv/bin``),
    which is often not on the PATH, so the hint names the path that works."""
    script = Path(sys.executable).parent / "hf"
    if not script.is_file():
        return "hf"
    relative = os.path.relpath(script)
    return relative if not relative.startswith("..") else str(script)


def download(file: HubFile, *, offline: bool = False) -> Path:
    """Fetch one file into the hub cache (or find it there), with one clear line when that fails."""
    how_to = (
        f"download {file.url} on a connected machine and pass its local path, "
        f"or run `{hf_command()} download {file.repo_id} {file.filename}` there and copy the cache "
        f"({hf_constants.HF_HUB_CACHE})"
    )
    if not offline and not endpoint_reachable():
        offline = True  # use the cache at once, instead of the client's half-minute of retries
    try:
        path = huggingface_hub.hf_hub_download(
            repo_id=file.repo_id,
            filename=file.filename,
            revision=file.revision,
            local_files_only=offline,
        )
    except hf_errors.LocalEntryNotFoundError:
        raise HubUnavailable(
            f"{file}: the hub is unreachable or offline and the file is not cached; {how_to}"
        ) from None
    except hf_errors.EntryNotFoundError:
        raise UserError(f"{file}: the hub repo {file.repo_id} has no file {file.filename}") from None
    except hf_errors.RevisionNotFoundError:
        raise UserError(f"{file}: the hub repo {file.repo_id} has no revision {file.revision}") from None
    except hf_errors.RepositoryNotFoundError:
        raise UserError(f"{file}: the hub repo {file.repo_id} does not exist or is private") from None
    except (hf_errors.HfHubHTTPError, OSError) as e:
        raise HubUnavailable(f"{file}: download failed ({type(e).__name__}); {how_to}") from None
    return Path(path)


def endpoint_reachable(timeout: float = 3.0) -> bool:
    """Can we open a TCP connection to the hub endpoint? (Assumed yes behind a proxy, which we can't probe.)"""
    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    url = urlsplit(hf_constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)), timeout).close()
    except OSError:
        return False
    return True
