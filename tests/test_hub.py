import os
import subprocess
import sys
import time

import pytest
from hub_server import FakeHub

from worldmodels.core.errors import UserError
from worldmodels.core.hub import HubFile, parse_hub_ref, resolve

CONTENT = b"not really weights, but bytes all the same"


def run_resolve(args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Resolve in a fresh process: huggingface_hub reads HF_* variables when it is imported."""
    code = (
        "from worldmodels.core.errors import cli_entry\n"
        "from worldmodels.core.hub import resolve\n"
        f"cli_entry(lambda: print(resolve({args})))()\n"
    )
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")} | env
    return subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=60)


def test_local_path_resolves_to_itself(tmp_path):
    f = tmp_path / "model.pt"
    f.write_bytes(b"x")
    assert resolve(f) == f
    assert resolve(str(f)) == f


def test_missing_local_path_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="nope.pt: file not found"):
        resolve(tmp_path / "nope.pt")


def test_parse_hub_ref():
    assert parse_hub_ref("hf://owner/repo/dir/file.pt") == HubFile("owner/repo", "dir/file.pt")
    assert parse_hub_ref("hf://owner/repo/file.pt@v1").revision == "v1"
    with pytest.raises(UserError, match="hf://owner/repo/path"):
        parse_hub_ref("hf://owner/repo")


def test_download_then_cache_hit_then_missing_file(tmp_path):
    files = {"someone/models/atari/Breakout.pt": CONTENT}
    with FakeHub(files) as hub:
        env = {"HF_ENDPOINT": hub.endpoint, "HF_HOME": str(tmp_path / "hf")}
        first = run_resolve("'hf://someone/models/atari/Breakout.pt'", env)
        assert first.returncode == 0, first.stderr
        path = first.stdout.strip()
        assert open(path, "rb").read() == CONTENT
        assert path.startswith(str(tmp_path / "hf"))  # the normal hub cache, under HF_HOME

        second = run_resolve("'someone/models', 'atari/Breakout.pt'", env)
        assert second.returncode == 0, second.stderr
        assert second.stdout.strip() == path
        assert hub.gets["someone/models/atari/Breakout.pt"] == 1  # served from the cache the second time

        missing = run_resolve("'hf://someone/models/atari/Pong.pt'", env)
        assert missing.returncode == 2
        assert missing.stderr.strip() == (
            "error: hf://someone/models/atari/Pong.pt: the hub repo someone/models has no file atari/Pong.pt"
        )


def test_offline_uncached_file_says_what_to_download(tmp_path):
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    result = run_resolve("'hf://someone/models/atari/Breakout.pt'", env)
    assert result.returncode == 2
    message = result.stderr.strip()
    assert message.count("\n") == 0
    assert "not cached" in message
    assert "https://huggingface.co/someone/models/resolve/main/atari/Breakout.pt" in message
    # the hf command of this environment (.venv/bin is often not on the PATH), as a path that runs
    command = message.split("run `")[1].split(" download ")[0]
    assert command != "hf" and os.access(command, os.X_OK), command


def test_offline_cached_file_still_resolves(tmp_path):
    with FakeHub({"someone/models/w.safetensors": CONTENT}) as hub:
        env = {"HF_ENDPOINT": hub.endpoint, "HF_HOME": str(tmp_path / "hf")}
        assert run_resolve("'hf://someone/models/w.safetensors'", env).returncode == 0
    offline = run_resolve("'hf://someone/models/w.safetensors'", env | {"HF_HUB_OFFLINE": "1"})
    assert offline.returncode == 0, offline.stderr
    assert open(offline.stdout.strip(), "rb").read() == CONTENT


def test_unreachable_hub_fails_fast_with_what_to_download(tmp_path):
    with FakeHub({}) as hub:
        closed_endpoint = hub.endpoint  # nothing listens there once the server stops
    env = {"HF_ENDPOINT": closed_endpoint, "HF_HOME": str(tmp_path / "hf")}
    start = time.monotonic()
    result = run_resolve("'hf://someone/models/atari/Breakout.pt'", env)
    assert time.monotonic() - start < 20  # no half-minute of client retries
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "unreachable or offline" in result.stderr
    assert "someone/models/resolve/main/atari/Breakout.pt" in result.stderr
