"""Normalisation of informal Indonesian complaint text into analysable tokens.

Each output term keeps the word the citizen actually wrote (`Token.surface`) so that explanations can
show original words rather than stems.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from Sastrawi.Stemmer.Stemmer import Stemmer
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

from model.lexicon import Lexicon

# Placeholder terms; the same ones the redacted real-data exports use (<TELEPON>, <NIK>, ...).
PLACEHOLDERS = ("_url_", "_email_", "_nik_", "_telepon_", "_nomor_")

_REDACTION_TAG = re.compile(r"<\s*(url|email|nik|telepon|nomor)\s*>", re.IGNORECASE)
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:go\.id|co\.id|com|id|net|org)\b(?:/\S*)?")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# NIK: 16 digits, sometimes written in groups of four.
_NIK = re.compile(r"(?<!\d)\d{4}[ .-]?\d{4}[ .-]?\d{4}[ .-]?\d{4}(?!\d)")
_PHONE = re.compile(r"(?<![\w+])(?:\+?62|0)[ .-]?8\d{1,3}(?:[ .-]?\d{2,5}){2,3}(?!\d)")
_LONG_NUMBER = re.compile(r"(?<!\d)\d[\d.,/-]{3,}\d(?!\d)")
_TOKEN = re.compile(r"_(?:url|email|nik|telepon|nomor)_|[a-z]+(?:-[a-z]+)*\d?")
_ELONGATED = re.compile(r"([a-z])\1{2,}")


@dataclass(frozen=True)
class Token:
    surface: str  # the word as written (lower-cased), for explanations
    term: str  # the normalised, stemmed term that becomes a feature


def mask_identifiers(text: str) -> str:
    """Replace URLs, e-mails, NIK, phone numbers and long numbers by placeholder terms.

    Also used wherever complaint text leaves the model (logs, exports), so it must not depend on
    anything but the text.
    """
    text = _REDACTION_TAG.sub(lambda m: f" _{m.group(1).lower()}_ ", text)
    text = _EMAIL.sub(" _email_ ", text)
    text = _URL.sub(" _url_ ", text)
    text = _NIK.sub(" _nik_ ", text)
    text = _PHONE.sub(" _telepon_ ", text)
    return _LONG_NUMBER.sub(" _nomor_ ", text)


def clean(text: str) -> str:
    """Unicode-normalise, lower-case and mask identifiers."""
    # Exports often carry line breaks as a literal backslash-n; they must not glue onto the next word.
    text = unicodedata.normalize("NFKC", text).replace("\\n", " ").lower()
    return mask_identifiers(text)


@lru_cache(maxsize=1)
def _sastrawi() -> tuple[Stemmer, frozenset[str]]:
    factory = StemmerFactory()
    words = frozenset(w for w in factory.get_words() if w)
    return factory.create_stemmer(), words


def root_words() -> frozenset[str]:
    """Sastrawi's dictionary of Indonesian root words."""
    return _sastrawi()[1]


@lru_cache(maxsize=500_000)
def stem_word(word: str) -> str:
    """Stem one word. Cached per token: complaint vocabularies repeat heavily, stemming is the cost."""
    return _sastrawi()[0].stem(word) or word


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
        if stem and term not in PLACEHOLDERS and term not in lexicon.protected and len(term) > 3:
            term = stem_word(term)
        out.append(Token(w.surface, term))
    return out


def tokenize(text: str, lexicon: Lexicon, *, stem: bool = True, drop_stopwords: bool = True) -> list[Token]:
    return terms(normalised_words(text, lexicon), lexicon, stem=stem, drop_stopwords=drop_stopwords)
