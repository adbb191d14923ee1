# Two commands for a new user: `make run` (train the default model if none is registered, show it working)
# and `make test`. Everything installs into .venv from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run train test lint bench bench-quality clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/triase train --if-missing
	$(BIN)/triase predict \
		"lampu pju mati" \
		"Selamat pagi, jalan di depan Perumahan Buana Vista Batu Aji berlubang besar, sudah dua motor jatuh minggu ini." \
		"tolong pak ada asap tebal dan api dari ruko sebelah rumah kami di Bengkong, cepat!!" \
		"min sy blm dpt bansos pdhl udh daftar dtks dr thn lalu, gmn cara ceknya?"

train: install
	$(BIN)/triase train

test: install
	$(BIN)/pytest

bench-quality: install
	$(BIN)/python -m benchmarks.quality

bench: bench-quality

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) mlflow.db mlartifacts .pytest_cache
