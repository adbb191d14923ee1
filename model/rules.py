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
    # The level a phrase raises to when only worry stands before it ("takut akan roboh"): a hazard, not an emergency.
    if_hedged: str | None = None


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
    negations: frozenset[str]  # words that stop a phrase from firing ("tidak ada korban")
    negation_window: int = 3
    # Worry words ("takut akan roboh"): they stop a phrase too, or lower it to its rule's `if_hedged` level. A default
    # here, not only in `load_rules`, so that models pickled before hedges were told apart still load.
    hedges: frozenset[str] = frozenset()

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
        hedged = None  # a hedged mention counts only when no plain one is found
        for phrase in rule.phrases:
            if phrase[0] not in positions:
                continue
            for start in _find(words, phrase, positions):
                before = set(words[max(0, start - self.negation_window) : start])
                if before & self.negations:
                    continue
                if before & self.hedges:
                    if rule.if_hedged and hedged is None:
                        hedged = Firing(rule.id, rule.if_hedged, " ".join(phrase))
                    continue
                found = Firing(rule.id, rule.raise_to, " ".join(phrase))
                return None if _excepted(rule, words, positions) else found
        return hedged if hedged and not _excepted(rule, words, positions) else None

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


def _excepted(rule: Rule, words: list[str], positions: dict[str, list[int]]) -> bool:
    """Whether one of the rule's `unless` phrases is in the text ("kebakaran ... sudah padam")."""
    return any(_find(words, exception, positions) for exception in rule.unless)


def load_rules(path: Path | str = RULES_PATH) -> UrgencyRules:
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    rules = []
    for entry in raw["rules"]:
        for key in ("raise_to", "if_hedged"):
            if key in entry and entry[key] not in URGENCY_LEVELS:
                raise ValueError(f"{path}: rule {entry['id']!r}: {key} must be one of {URGENCY_LEVELS}")
        rules.append(
            Rule(
                id=entry["id"],
                raise_to=entry["raise_to"],
                phrases=tuple(_phrase(p) for p in entry["phrases"]),
                unless=tuple(_phrase(p) for p in entry.get("unless", [])),
                if_hedged=entry.get("if_hedged"),
            )
        )
    return UrgencyRules(
        tuple(rules),
        negations=frozenset(raw.get("negations", [])),
        negation_window=int(raw.get("negation_window", 3)),
        hedges=frozenset(raw.get("hedges", [])),
    )
