"""Transparent urgency safety rules: phrases that can only raise the learned urgency, never lower it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
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
        # Where each phrase-starting word occurs, so a phrase is only compared where its first word is; most of a
        # text's words start no phrase at all.
        starters = self._starters
        positions: dict[str, list[int]] = {}
        for i, word in enumerate(words):
            if word in starters:
                positions.setdefault(word, []).append(i)
        if not positions:
            return []
        present = positions.keys()
        return [
            f
            for rule, starts in zip(self.rules, self._first_words, strict=True)
            if not starts.isdisjoint(present) and (f := self._fire_one(rule, words, positions))
        ]

    @cached_property
    def _first_words(self) -> list[frozenset[str]]:
        """Per rule, the words its phrases start with: a rule none of them occur in cannot fire."""
        return [frozenset(phrase[0] for phrase in rule.phrases) for rule in self.rules]

    @cached_property
    def _starters(self) -> frozenset[str]:
        """Every word a phrase or an exception (`unless`) starts with."""
        return frozenset(phrase[0] for rule in self.rules for phrase in (*rule.phrases, *rule.unless))

    def _fire_one(self, rule: Rule, words: list[str], positions: dict[str, list[int]]) -> Firing | None:
        for phrase in rule.phrases:
            if phrase[0] not in positions:
                continue
            for start in _find(words, phrase, positions):
                before = words[max(0, start - self.negation_window) : start]
                if not self.negations.intersection(before):
                    if any(_find(words, exception, positions) for exception in rule.unless):
                        return None
                    return Firing(rule.id, rule.raise_to, " ".join(phrase))
        return None

    @staticmethod
    def apply(level: str, firings: list[Firing]) -> str:
        """The most urgent of the model's level and every fired rule's level."""
        return min([level, *(f.raise_to for f in firings)], key=URGENCY_LEVELS.index)


def _find(words: list[str], phrase: tuple[str, ...], positions: dict[str, list[int]]) -> list[int]:
    """Where `phrase` starts in `words`; `positions` says where each phrase-starting word is."""
    n = len(phrase)
    if n == 1:
        return positions.get(phrase[0], [])
    # Comparing the second word first spares building a slice at most places.
    return [
        i
        for i in positions.get(phrase[0], ())
        if i + 1 < len(words) and words[i + 1] == phrase[1] and tuple(words[i : i + n]) == phrase
    ]


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
