"""The label sets: OPD routing codes with their display names, and the urgency scale.

This is the only place that reads `data/taxonomy.yaml`; everything else asks a `Taxonomy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from model.paths import TAXONOMY_PATH

# Ordered from most to least urgent; the order matters for kappa and for "raise only" rules.
URGENCY_LEVELS: tuple[str, ...] = ("darurat", "tinggi", "sedang", "rendah")


@dataclass(frozen=True)
class Opd:
    code: str
    name: str
    scope: str


@dataclass(frozen=True)
class Taxonomy:
    opds: tuple[Opd, ...]
    urgency_levels: tuple[str, ...] = URGENCY_LEVELS

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.opds)

    def name_of(self, code: str) -> str:
        for opd in self.opds:
            if opd.code == code:
                return opd.name
        raise KeyError(f"unknown OPD code {code!r}")

    def urgency_rank(self, level: str) -> int:
        """0 for the most urgent level; used for ordinal metrics."""
        return self.urgency_levels.index(level)


def parse_taxonomy(raw: dict) -> Taxonomy:
    opds = tuple(
        Opd(code=code, name=str(entry["name"]), scope=str(entry.get("scope", ""))) for code, entry in raw["opd"].items()
    )
    levels = tuple(raw.get("urgency_levels", URGENCY_LEVELS))
    if levels != URGENCY_LEVELS:
        raise ValueError(f"urgency_levels must be {list(URGENCY_LEVELS)}, got {list(levels)}")
    return Taxonomy(opds=opds, urgency_levels=levels)


def load_taxonomy(path: Path | str = TAXONOMY_PATH) -> Taxonomy:
    with open(path, encoding="utf-8") as f:
        return parse_taxonomy(yaml.safe_load(f))


@lru_cache(maxsize=1)
def default_taxonomy() -> Taxonomy:
    return load_taxonomy()
