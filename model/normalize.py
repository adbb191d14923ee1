"""Normalisation of informal Indonesian complaint text into analysable tokens.

Each output term keeps the word the citizen actually wrote (`Token.surface`) so that explanations can
show original words rather than stems.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from typing import NamedTuple

from Sastrawi.Stemmer.Stemmer import Stemmer

from model.lexicon import Lexicon
from model.stemmer import create_stemmer

# Placeholder terms; the same ones the redacted real-data exports use (<TELEPON>, <NIK>, ...).
PLACEHOLDERS = ("_url_", "_email_", "_nik_", "_telepon_", "_nomor_")

_REDACTION_TAG = re.compile(r"<\s*(url|email|nik|telepon|nomor)\s*>", re.IGNORECASE)
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:go\.id|co\.id|com|id|net|org)\b(?:/\S*)?")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# NIK: 16 digits, sometimes written in groups of four.
_NIK = re.compile(r"(?<!\d)\d{4}[ .-]?\d{4}[ .-]?\d{4}[ .-]?\d{4}(?!\d)")
_PHONE = re.compile(r"(?<![\w+])(?:\+?62|0)[ .-]?8\d{1,3}(?:[ .-]?\d{2,5}){2,3}(?!\d)")
_LONG_NUMBER = re.compile(r"(?<!\d)\d[\d.,/-]{3,}\d(?!\d)")
# Cheap necessary conditions for the patterns above: most complaints hold no URL, e-mail or number, and
# scanning a whole text for a literal costs far less than trying each pattern at every word.
_URL_HINT = re.compile(r"https?://|www\.|\.(?:go\.id|co\.id|com|id|net|org)\b")
_DIGIT = re.compile(r"\d")
_TOKEN = re.compile(r"_(?:url|email|nik|telepon|nomor)_|[a-z]+(?:-[a-z]+)*\d?")
_ELONGATED = re.compile(r"([a-z])\1{2,}")


class Token(NamedTuple):  # a tuple: made by the hundred per prediction, so it has to be cheap
    surface: str  # the word as written (lower-cased), for explanations
    term: str  # the normalised, stemmed term that becomes a feature


def mask_identifiers(text: str) -> str:
    """Replace URLs, e-mails, NIK, phone numbers and long numbers by placeholder terms.

    Also used wherever complaint text leaves the model (logs, exports), so it must not depend on
    anything but the text.
    """
    if "<" in text:
        text = _REDACTION_TAG.sub(lambda m: f" _{m.group(1).lower()}_ ", text)
    if "@" in text:
        text = _EMAIL.sub(" _email_ ", text)
    if _URL_HINT.search(text):
        text = _URL.sub(" _url_ ", text)
    if _DIGIT.search(text):
        text = _NIK.sub(" _nik_ ", text)
        text = _PHONE.sub(" _telepon_ ", text)
        text = _LONG_NUMBER.sub(" _nomor_ ", text)
    return text


def clean(text: str) -> str:
    """Unicode-normalise, lower-case and mask identifiers."""
    # Exports often carry line breaks as a literal backslash-n; they must not glue onto the next word. Replaced
    # after lower-casing, or a literal backslash-N would become one only on a second pass.
    text = unicodedata.normalize("NFKC", text).lower().replace("\\n", " ")
    return mask_identifiers(text)


@lru_cache(maxsize=1)
def _sastrawi() -> tuple[Stemmer, frozenset[str]]:
    stemmer = create_stemmer()
    return stemmer, frozenset(stemmer.get_dictionary().words)


def root_words() -> frozenset[str]:
    """Sastrawi's dictionary of Indonesian root words."""
    return _sastrawi()[1]


MAX_STEMS = 500_000  # distinct words whose stem is remembered (a few tens of MB at most)
PARALLEL_MIN_WORDS = 2_000  # fewer new words than this are stemmed in-process: starting workers costs more
_stems: dict[str, str] = {}  # word -> stem; stemming is a pure function of the word, so one table per process


def stem_word(word: str) -> str:
    """Stem one word. Remembered per word: complaint vocabularies repeat heavily and stemming is the cost."""
    found = _stems.get(word)
    if found is None:
        if len(_stems) >= MAX_STEMS:
            _stems.clear()
        found = _stems[word] = _sastrawi()[0].stem(word) or word
    return found


def stem_words(words: Iterable[str], n_jobs: int = 1) -> None:
    """Stem every word not stemmed before, spread over `n_jobs` processes (-1: one per core) when there are
    enough of them; afterwards `stem_word` finds each in its table. Used when preprocessing a training set,
    where first-time stemming of tens of thousands of distinct words is most of the cost."""
    new = [w for w in dict.fromkeys(words) if w not in _stems]
    workers = min(os.cpu_count() or 1, n_jobs if n_jobs > 0 else os.cpu_count() or 1)
    # Forked workers start at once and inherit the loaded dictionary (spawned ones would re-import the
    # caller's script), but forking is only safe while no other thread could hold a lock: a service with
    # its worker threads stems in-process.
    if workers < 2 or len(new) < PARALLEL_MIN_WORDS or threading.active_count() > 1 or os.name != "posix":
        for word in new:
            stem_word(word)
        return
    _sastrawi()
    context = multiprocessing.get_context("fork")
    chunks = [new[i :: workers * 4] for i in range(workers * 4)]
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        for chunk, stems in zip(chunks, pool.map(_stem_chunk, chunks), strict=True):
            _stems.update(zip(chunk, stems, strict=True))


def stems_so_far() -> dict[str, str]:
    """Every word stemmed in this process so far, with its stem."""
    return dict(_stems)


def _stem_chunk(words: list[str]) -> list[str]:
    return [stem_word(w) for w in words]


def should_stem(term: str, lexicon: Lexicon) -> bool:
    """Placeholders, protected words (names, places, acronyms) and very short words keep their form."""
    return term not in PLACEHOLDERS and term not in lexicon.protected and len(term) > 3


def collapse_elongation(word: str, known: frozenset[str] | set[str] | dict) -> str:
    """ "bangeeet" -> "banget"; "tolongg" -> "tolong" when the shorter form is a known word."""
    word = _ELONGATED.sub(r"\1", word)
    if len(word) > 3 and word[-1] == word[-2] and word not in known and word[:-1] in known:
        word = word[:-1]
    return word


def normalised_words(text: str, lexicon: Lexicon) -> list[Token]:
    """Every word, cleaned and slang-expanded but neither stemmed nor filtered (`term` is the word).

    Safety rules read these (negations and stopwords matter to them); `terms` derives features from them.
    """
    known = root_words()
    return [token for surface in surfaces(clean(text)) for token in expand(surface, lexicon, known)]


def surfaces(cleaned: str) -> list[str]:
    """The words of a `clean`ed text, as written."""
    return _TOKEN.findall(cleaned)


def expand(surface: str, lexicon: Lexicon, known: frozenset[str]) -> list[Token]:
    """One written word as normalised words: reduplication mark dropped, elongation collapsed, slang expanded."""
    if surface in PLACEHOLDERS:
        return [Token(surface, surface)]
    word = surface
    if word[-1] == "2":  # "jalan2" is written reduplication, i.e. "jalan-jalan"
        word = word[:-1]
    word = collapse_elongation(word, known if word not in lexicon.slang else lexicon.slang)
    return [Token(surface, w) for w in lexicon.slang.get(word, word).split()]


def terms(words: list[Token], lexicon: Lexicon, *, stem: bool = True, drop_stopwords: bool = True) -> list[Token]:
    """Feature terms from normalised words: stopwords dropped, stemmed unless protected or a placeholder."""
    out = []
    for w in words:
        term = w.term
        if drop_stopwords and term in lexicon.stopwords:
            continue
        if stem and should_stem(term, lexicon):
            term = stem_word(term)
        out.append(Token(w.surface, term))
    return out


def stem_candidates(words: Iterable[Token], lexicon: Lexicon, *, drop_stopwords: bool = True) -> Iterator[str]:
    """The words `terms` will stem: to stem them all at once beforehand (`stem_words`)."""
    for w in words:
        if not (drop_stopwords and w.term in lexicon.stopwords) and should_stem(w.term, lexicon):
            yield w.term


def tokenize(text: str, lexicon: Lexicon, *, stem: bool = True, drop_stopwords: bool = True) -> list[Token]:
    return terms(normalised_words(text, lexicon), lexicon, stem=stem, drop_stopwords=drop_stopwords)
