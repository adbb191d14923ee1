"""Transparent urgency safety rules: phrases that can only raise the learned urgency, never lower it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from model.paths import DATA_DIR
from model.taxonomy import URGENCY_LEVELS

RULES_PATH = DATA_DIR / "urgency_rules.yaml"


@dataclass(frozen=True)
class Rule:
    id: str
    raise_to: str
    phrases: tuple[tuple[str, ...], ...]
    unless: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Firing:
    rule: str
    raise_to: str
    phrase: str


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(text.lower().split())


@dataclass(frozen=True)
class UrgencyRules:
    rules: tuple[Rule, ...]
    negations: frozenset[str]  # negation and hedge words that stop a phrase from firing
    negation_window: int = 3

    def fire(self, words: list[str]) -> list[Firing]:
        """Rules that fire on a text given as normalised words (slang expanded, not stemmed)."""
        return [f for rule in self.rules if (f := self._fire_one(rule, words))]

    def _fire_one(self, rule: Rule, words: list[str]) -> Firing | None:
        if any(_find(words, phrase) for phrase in rule.unless):
            return None
        for phrase in rule.phrases:
            for start in _find(words, phrase):
                before = words[max(0, start - self.negation_window) : start]
                if not self.negations.intersection(before):
                    return Firing(rule.id, rule.raise_to, " ".join(phrase))
        return None

    @staticmethod
    def apply(level: str, firings: list[Firing]) -> str:
        """The most urgent of the model's level and every fired rule's level."""
        return min([level, *(f.raise_to for f in firings)], key=URGENCY_LEVELS.index)


def _find(words: list[str], phrase: tuple[str, ...]) -> list[int]:
    first, n = phrase[0], len(phrase)
    return [i for i, word in enumerate(words) if word == first and tuple(words[i : i + n]) == phrase]


def load_rules(path: Path | str = RULES_PATH) -> UrgencyRules:
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    rules = []
    for entry in raw["rules"]:
        if entry["raise_to"] not in URGENCY_LEVELS:
            raise ValueError(f"{path}: rule {entry['id']!r}: raise_to must be one of {URGENCY_LEVELS}")
        rules.append(
            Rule(
                id=entry["id"],
                raise_to=entry["raise_to"],
                phrases=tuple(_phrase(p) for p in entry["phrases"]),
                unless=tuple(_phrase(p) for p in entry.get("unless", [])),
            )
        )
    blockers = frozenset(raw.get("negations", [])) | frozenset(raw.get("hedges", []))
    return UrgencyRules(tuple(rules), blockers, int(raw.get("negation_window", 3)))
