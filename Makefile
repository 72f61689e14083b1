# Every target installs first, so each one works from a fresh clone.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export SDL_AUDIODRIVER ?= dummy

.PHONY: install test lint format challenge1 challenge2 challenge3 bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: install
	SDL_VIDEODRIVER=dummy $(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Without a display (a server, CI) the challenges play headless and write an MP4.
HAS_DISPLAY := $(or $(DISPLAY),$(WAYLAND_DISPLAY),$(filter Darwin,$(shell uname -s)))
# Videos people share: the game alone, no HUD over it.
HEADLESS = $(if $(HAS_DISPLAY),,--headless --no-header --frames 300 --out data/$@.mp4)
# WEB=1 (port 8000) or WEB=HOST:PORT: play in a browser instead (a GPU box without a display).
PLAY_WHERE = $(if $(WEB),--web $(if $(filter 1,$(WEB)),8000,$(WEB)),$(HEADLESS))

challenge1: install
	$(BIN)/diamond-play --pretrained --game Breakout $(PLAY_WHERE)

# The whole Genie pipeline: small models on a CPU in about 15 minutes, GPU=1 for the workshop GPU preset
# (configs/gpu, about 20 minutes), PAPER=1 for the paper's configs (days).
challenge2: install
	$(BIN)/python scripts/challenge2.py $(if $(GPU),--gpu) $(if $(PAPER),--paper)

challenge3: install
	$(BIN)/oasis-play $(PLAY_WHERE)

bench: install
	@for script in scripts/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
