"""Triase's faster Sastrawi stemmer gives exactly the unmodified library's stems."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

from model import normalize
from model.stemmer import create_stemmer

PREFIXES = [
    "",
    "ber",
    "be",
    "bel",
    "ter",
    "te",
    "me",
    "mem",
    "men",
    "meng",
    "menge",
    "meny",
    "memper",
    "mempe",
    "pe",
    "pem",
    "pen",
    "peng",
    "penge",
    "peny",
    "per",
    "pel",
    "di",
    "ke",
    "se",
    "ku",
    "kau",
    "diper",
    "keber",
]
SUFFIXES = [
    "",
    "i",
    "kan",
    "an",
    "nya",
    "ku",
    "mu",
    "lah",
    "kah",
    "tah",
    "pun",
    "is",
    "isme",
    "isasi",
    "kannya",
    "annya",
    "inya",
    "-nya",
    "-lah",
]
INFIXES = ["", "el", "em", "er", "in"]


@pytest.fixture(scope="module")
def stemmers():
    return StemmerFactory().create_stemmer(), create_stemmer()


def roots() -> st.SearchStrategy[str]:
    dictionary = sorted(normalize.root_words())
    made_up = st.text(alphabet="abcdegiklmnoprstuwy", min_size=1, max_size=8)
    return st.one_of(st.sampled_from(dictionary), made_up)


@st.composite
def affixed_words(draw) -> str:
    root = draw(roots())
    infix = draw(st.sampled_from(INFIXES))
    if infix:
        root = root[:1] + infix + root[1:]
    word = draw(st.sampled_from(PREFIXES)) + root + draw(st.sampled_from(SUFFIXES))
    if draw(st.booleans()):  # reduplication: "rumah-rumah", "berbalas-balasan"
        word = f"{word}-{draw(st.sampled_from(PREFIXES))}{root}{draw(st.sampled_from(SUFFIXES))}"
    return word


@settings(max_examples=3000, deadline=None)
@given(affixed_words())
def test_same_stems_as_the_library_on_affixed_words(stemmers, word):
    plain, fast = stemmers
    assert fast.stem(word) == plain.stem(word)


def test_same_stems_as_the_library_on_every_corpus_word(stemmers, corpus):
    plain, fast = stemmers
    words = sorted({w for t in corpus["text"].str.lower() for w in normalize._TOKEN.findall(t)})
    assert len(words) > 5_000
    assert [fast.stem(w) for w in words] == [plain.stem(w) for w in words]


def test_every_prefix_rule_has_a_start_condition(stemmers):
    """A rule the table does not know is tried on every word (correct but slow): a new library version
    that adds or renames rules shows up here."""
    _, fast = stemmers
    untested = [
        type(step.step).__name__
        for step in fast.visitor_provider.prefix_visitors
        if step.is_prefix_rule and step.starts is None
    ]
    assert untested == []
