"""The real complaint sets are for measuring only: no file of the project may carry their text. A run of eight
words shared with a real complaint is taken as copied (formulaic letter phrases can collide by chance too, and
must be reworded all the same). Skipped, with the reason, where the shared data is absent."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest

from model.paths import PROJECT_ROOT
from tests.conftest import REAL_COMPLAINTS, needs_real_complaints

pytestmark = [pytest.mark.slow, pytest.mark.realdata]
RUN = 8
TEXT_SUFFIXES = {".csv", ".md", ".py", ".txt", ".tsv", ".yaml", ".yml", ".toml", ".html", ".json"}
SKIPPED_DIRS = {".venv", ".git", "mlartifacts", "mlruns", "out", "node_modules", "__pycache__"}


def _words(text: str) -> list[str]:
    # The export writes line breaks as a literal backslash-n.
    return re.findall(r"\w+", text.replace("\\n", " ").lower())


def _runs(words: list[str]) -> list[tuple[str, ...]]:
    """Every run of `RUN` consecutive words, in order (the i-th starts at word i)."""
    return [tuple(words[i : i + RUN]) for i in range(len(words) - RUN + 1)]


def _project_files():
    """Text files of the project, not descending into environments, stores or generated output."""
    for folder, subfolders, files in os.walk(PROJECT_ROOT):
        subfolders[:] = sorted(d for d in subfolders if d not in SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(folder) / name
            if path.suffix in TEXT_SUFFIXES:
                yield path


def _shared_runs(path: Path, real: set[tuple[str, ...]]) -> list[str]:
    """Each run of the file's words (across line breaks too: a CSV row may span lines) found in `real`,
    with the line it starts on."""
    words, lines = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        found = _words(line)
        words += found
        lines += [number] * len(found)
    return [
        f"{path.relative_to(PROJECT_ROOT)}:{lines[i]}: {' '.join(run)}"
        for i, run in enumerate(_runs(words))
        if run in real
    ]


@needs_real_complaints
def test_no_project_file_shares_an_eight_word_run_with_a_real_complaint():
    real: set[tuple[str, ...]] = set()
    for text in pd.read_csv(REAL_COMPLAINTS, dtype=str, keep_default_na=False)["text"]:
        real.update(_runs(_words(text)))
    found = [hit for path in _project_files() for hit in _shared_runs(path, real)]
    assert not found, "text shared with the real complaints:\n" + "\n".join(found)
