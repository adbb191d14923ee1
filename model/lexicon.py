"""The project's own word lists: slang map, stopwords and words that must never be stemmed.

Files live in `data/lexicon/`, one entry per line, `#` starts a comment:
- `slang.tsv`      informal form, a tab, standard form (the standard form may be several words)
- `stopwords.txt`  function words dropped before features; never negations or urgency cues
- `protected.txt`  place names and acronyms that the stemmer would mangle
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from model.paths import LEXICON_DIR

# Words the stopword list must never contain: dropping them flips or flattens the meaning.
MUST_KEEP = frozenset({"tidak", "belum", "bukan", "jangan", "tanpa", "tak", "segera", "darurat", "bahaya", "tolong"})


@dataclass(frozen=True)
class Lexicon:
    slang: dict[str, str] = field(default_factory=dict)
    stopwords: frozenset[str] = frozenset()
    protected: frozenset[str] = frozenset()


def _entries(path: Path) -> Iterator[tuple[int, str]]:
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if line:
                yield number, line


def load_lexicon(directory: Path | str = LEXICON_DIR) -> Lexicon:
    directory = Path(directory)
    slang: dict[str, str] = {}
    for number, line in _entries(directory / "slang.tsv"):
        informal, sep, standard = line.partition("\t")
        if not sep or not standard.strip():
            raise ValueError(f"{directory / 'slang.tsv'}:{number}: expected 'informal<TAB>standard'")
        slang[informal.strip().lower()] = " ".join(standard.lower().split())
    stopwords = frozenset(w.lower() for _, w in _entries(directory / "stopwords.txt"))
    clash = stopwords & MUST_KEEP
    if clash:
        raise ValueError(f"stopwords.txt must not contain {sorted(clash)}: they carry negation or urgency")
    protected = frozenset(w.lower() for _, w in _entries(directory / "protected.txt"))
    return Lexicon(slang=slang, stopwords=stopwords, protected=protected)
