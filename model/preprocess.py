"""The text pipeline as one scikit-learn transformer, so a single `Pipeline` carries everything."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from model.lexicon import Lexicon, load_lexicon
from model.normalize import Token, tokenize
from model.paths import LEXICON_DIR


class IndonesianPreprocessor(TransformerMixin, BaseEstimator):
    """Normalise, remove stopwords and stem Indonesian complaint text.

    `fit` reads the lexicon into the estimator (`lexicon_`), so a pickled pipeline needs no files
    at prediction time. `transform` maps raw strings to space-joined terms for a vectorizer.

    Parameters
    ----------
    lexicon_dir : directory with slang.tsv, stopwords.txt and protected.txt; None for the bundled one.
    stem : apply the Sastrawi stemmer (protected words excepted).
    remove_stopwords : drop the project's stopwords (never negations or urgency cues).
    """

    def __init__(self, lexicon_dir: str | Path | None = None, stem: bool = True, remove_stopwords: bool = True):
        self.lexicon_dir = lexicon_dir
        self.stem = stem
        self.remove_stopwords = remove_stopwords

    def fit(self, X: Iterable[str], y=None) -> IndonesianPreprocessor:
        _as_texts(X)
        self.lexicon_: Lexicon = load_lexicon(self.lexicon_dir or LEXICON_DIR)
        return self

    def tokens(self, text: str) -> list[Token]:
        check_is_fitted(self, "lexicon_")
        return tokenize(text, self.lexicon_, stem=self.stem, drop_stopwords=self.remove_stopwords)

    def transform(self, X: Iterable[str]) -> np.ndarray:
        check_is_fitted(self, "lexicon_")
        return np.array([" ".join(t.term for t in self.tokens(text)) for text in _as_texts(X)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags


def _as_texts(X: Iterable[str]) -> list[str]:
    if isinstance(X, str):
        raise TypeError("expected a sequence of texts, got a single string; wrap it in a list")
    texts = list(np.asarray(X, dtype=object).ravel()) if isinstance(X, np.ndarray) else list(X)
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise TypeError(f"text at position {bad} is {type(texts[bad]).__name__}, expected str")
    return texts
