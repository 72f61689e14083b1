"""Small world models trained by this project and shipped inside the package: what the challenges play when
the published weights can't be downloaded (no network, ``--offline``), and what has no published twin.

Each model has a card beside it (``<name>.md``): the commands that trained it, on what, for how long, and
what it measures on fresh data (the bars of ``checks.py``, which ``tests/test_pretrained.py`` re-measures).
"""

from pathlib import Path

FOLDER = Path(__file__).resolve().parent
# DIAMOND's published agent layout (one flat state dict) with its agent config beside it as <name>.yaml.
DIAMOND_BREAKOUT = FOLDER / "diamond_breakout_small.pt"
DIAMOND_GAMES = {"Breakout": DIAMOND_BREAKOUT}
# Tokenizer + latent action model + dynamics model, float16, their configs in the safetensors header.
GENIE_COINRUN = FOLDER / "genie_coinrun_small.safetensors"
# A pixel-space Oasis-architecture DiT (oasis-train's export, float16, its config in the header).
OASIS_BREAKOUT = FOLDER / "oasis_breakout_small.safetensors"
OASIS_BREAKOUT_DDIM_STEPS = 1  # what it is measured and played with: its x0 estimate (its card says why)
OASIS_BREAKOUT_CONTROL = "keys not learned (see card)"  # its action gain is +0.003 dB: the HUD says so


def model_card(path: Path) -> Path:
    return path.with_suffix(".md")
