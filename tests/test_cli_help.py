"""Every console script the package installs, and ``python -m worldmodels.play``, answer --help."""

import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

import pytest

SCRIPTS = sorted(ep.name for ep in distribution("worldmodels-workshop").entry_points if ep.group == "console_scripts")


@pytest.mark.parametrize("script", SCRIPTS)
def test_console_script_help(script):
    result = subprocess.run(
        [str(Path(sys.executable).parent / script), "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "usage" in result.stdout.lower()


def test_play_module_help():
    result = subprocess.run([sys.executable, "-m", "worldmodels.play", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--headless" in result.stdout
