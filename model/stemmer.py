"""PySastrawi's stemmer, made four to five times cheaper on words it has not seen, with the same stems.

Two costs dominate stemming a new word with the library as it comes (measured with cProfile on the
real complaints' 16,811 distinct words):

- Every affix-removal step records the part it removed with `re.sub(result, "", word)`, i.e. it uses each
  intermediate word as a regular expression. Every new word compiles new patterns and pushes the rules'
  own patterns out of `re`'s cache, so those are compiled again and again.
- The prefix step tries each of about forty rules in turn, each with one to four regular expressions,
  although a word can only match the rules for the letters it starts with.

`create_stemmer` builds the library's own stemmer (its dictionary, rules and their order) and wraps its
affix-removal steps: a prefix step is not tried on a word that does not start with what its patterns
require, and the removed part is found by plain string replacement. Neither changes a result. The stems are
checked against the unmodified library on the real complaints' words (`make bench`) and on generated
affixed words (tests/test_stemmer.py).
"""

from __future__ import annotations

import re

from Sastrawi.Stemmer.Context.Context import Context
from Sastrawi.Stemmer.Context.Removal import Removal
from Sastrawi.Stemmer.Context.Visitor.AbstractDisambiguatePrefixRule import AbstractDisambiguatePrefixRule
from Sastrawi.Stemmer.Stemmer import Stemmer
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

_CONSONANTS = "bcdfghjklmnpqrstvwxyz"
# The first two letters a word needs for each numbered prefix rule of PySastrawi 1.2 to apply, read off the
# rules' patterns: ber-/be- (1-5), ter-/te- (6-9, 35), me- (10-19), pe- (20-34, 36), the -el-/-em-/-er-/-in-
# infixes after a consonant (37-40), ku- and kau- (41, 42). A rule missing here is always tried.
_RULE_STARTS: dict[int, frozenset[str]] = {
    **dict.fromkeys((1, 2, 3, 4, 5), frozenset({"be"})),
    **dict.fromkeys((6, 7, 8, 9, 35), frozenset({"te"})),
    **dict.fromkeys(range(10, 20), frozenset({"me"})),
    **dict.fromkeys((*range(20, 35), 36), frozenset({"pe"})),
    **dict.fromkeys((37, 38, 39, 40), frozenset(c + v for c in _CONSONANTS for v in "ei")),
    41: frozenset({"ku"}),
    42: frozenset({"ka"}),
}
_RULE_NUMBER = re.compile(r"DisambiguatorPrefixRule(\d+)[a-z]?")
# Words reaching the steps are normalised by the library to these characters, none of them special in a
# regular expression; anything else takes the library's own route.
_LITERAL = re.compile(r"[a-z0-9 -]*")
# The affix type each suffix step records (the library's own labels); prefix steps record "DP".
_SUFFIX_TYPES = {
    "RemoveInflectionalParticle": "P",
    "RemoveInflectionalPossessivePronoun": "PP",
    "RemoveDerivationalSuffix": "DS",
}


class _AffixStep:
    """One of the library's affix-removal steps (a "visitor"), run with the two shortcuts above."""

    def __init__(self, step, affix_type: str):
        self.step = step
        self.affix_type = affix_type
        self.is_prefix_rule = isinstance(step, AbstractDisambiguatePrefixRule)
        self.starts = _starts(step) if self.is_prefix_rule else None

    def applies_to(self, word: str) -> bool:
        return self.starts is None or word[:2] in self.starts

    def visit(self, context) -> None:
        word = context.current_word
        if self.is_prefix_rule:
            # As the library does: the first candidate that is a dictionary word, else the last candidate.
            result = None
            for rule in self.step.disambiguators:
                result = rule.disambiguate(word)
                if context.dictionary.contains(result):
                    break
            if result is None:
                return
        else:
            result = self.step.remove(word)
            if result == word:
                return
        removed = word.replace(result, "", 1) if _LITERAL.fullmatch(result) else re.sub(result, "", word, count=1)
        context.add_removal(Removal(self.step, word, result, removed, self.affix_type))
        context.current_word = result


def _starts(rule: AbstractDisambiguatePrefixRule) -> frozenset[str] | None:
    starts: set[str] = set()
    for disambiguator in rule.disambiguators:
        number = _RULE_NUMBER.fullmatch(type(disambiguator).__name__)
        if number is None or int(number[1]) not in _RULE_STARTS:
            return None
        starts |= _RULE_STARTS[int(number[1])]
    return frozenset(starts) or None


class _PrefixSteps(list):
    """The prefix steps in the library's order, and for each pair of first letters the steps that apply."""

    def __init__(self, steps: list[_AffixStep]):
        super().__init__(steps)
        self._by_start: dict[str, tuple[_AffixStep, ...]] = {}

    def applying_after_first(self, word: str) -> tuple[_AffixStep, ...]:
        found = self._by_start.get(word[:2])
        if found is None:
            found = self._by_start[word[:2]] = tuple(s for s in self[1:] if s.applies_to(word))
        return found


class _Context(Context):
    def accept_prefix_visitors(self, visitors: _PrefixSteps):
        """The library's loop runs the prefix steps in turn and stops after the first one that removes something
        (or leaves a dictionary word, or stops the process). A step that does not apply to the word changes
        nothing, so after the first step (whose check also covers the state the loop started in) only the
        steps that apply are run: the same outcome without forty calls per word."""
        removals = len(self.removals)
        for step in (visitors[0], *visitors.applying_after_first(self.current_word)):
            self.accept(step)
            if self.dictionary.contains(self.current_word) or self.process_is_stopped or len(self.removals) > removals:
                return


class _Stemmer(Stemmer):
    def stem_singular_word(self, word: str) -> str:
        context = _Context(word, self.dictionary, self.visitor_provider)
        context.execute()
        return context.result


def create_stemmer() -> Stemmer:
    """The library's stemmer (`Stemmer.stem(text)`, no result cache: callers remember stems per word)."""
    stemmer = _Stemmer(StemmerFactory().create_stemmer().delegatedStemmer.get_dictionary())
    steps = stemmer.visitor_provider
    steps.suffix_visitors[:] = [_AffixStep(s, _SUFFIX_TYPES[type(s).__name__]) for s in steps.suffix_visitors]
    steps.prefix_visitors = _PrefixSteps([_AffixStep(s, "DP") for s in steps.prefix_visitors])
    return stemmer
