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


@pytest.mark.parametrize(
    "command, config, words",
    [
        (["diamond-train"], "game: Breakout\nnum_epoch: 3\n", "Option 'num_epoch' is not accepted"),
        (["genie", "fit"], "trainer:\n  max_step: 3\n", "does not accept option 'trainer.max_step'"),
        (["genie-tokenizer", "fit"], "model:\n  dims: 3\n", "does not accept option 'model.dims'"),
    ],
)
def test_a_typo_in_a_config_is_one_line_at_the_end(tmp_path, command, config, words):
    """Not the usage of every option (60+ lines) with the one line that matters below it."""
    (tmp_path / "typo.yaml").write_text(config)
    script = str(Path(sys.executable).parent / command[0])
    result = subprocess.run([script, *command[1:], "-c", str(tmp_path / "typo.yaml")], capture_output=True, text=True)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and words in lines[-1], result.stderr
    assert "usage" not in result.stderr and len(lines) <= 3, result.stderr
