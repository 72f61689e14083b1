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

challenge1: install
	@echo "Challenge 1 (DIAMOND on Atari) is not wired yet: meanwhile play the real game with"
	@echo "  $(BIN)/python -m worldmodels.play --env ALE/Breakout-v5"
	@exit 1

challenge2: install
	@echo "Challenge 2 (Genie on procgen CoinRun) is not wired yet."
	@exit 1

challenge3: install
	@echo "Challenge 3 (Oasis in Minecraft) is not wired yet."
	@exit 1

bench: install
	@for script in scripts/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
