"""The text pipeline as one scikit-learn transformer, so a single `Pipeline` carries everything."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from model.lexicon import Lexicon, load_lexicon
from model.normalize import (
    clean,
    expand,
    root_words,
    stem_candidates,
    stem_words,
    surfaces,
    terms,
)
from model.paths import LEXICON_DIR

# Stemmed terms and surface words travel in one string so the transformer keeps a 1-D output;
# vectorizers pick their view with these (module-level, so pipelines stay picklable).
VIEW_SEPARATOR = "\x1f"
MAX_CACHED_WORDS = 500_000  # distinct written words remembered per preprocessor (a few tens of MB at most)
MAX_CACHED_DOCUMENTS = 20_000  # distinct texts remembered with their result (about 20-40 MB at most)


class TextAnalysis(NamedTuple):
    words: list[str]  # normalised words (slang expanded, nothing dropped or stemmed): what the safety rules read
    terms: list[str]  # feature terms, in order
    written: list[str]  # for each feature term, the word as the citizen wrote it (for explanations)
    document: str  # what `transform` gives for the text: the vectorisers' input


def terms_view(document: str) -> str:
    return document.split(VIEW_SEPARATOR, 1)[0]


def surface_view(document: str) -> str:
    parts = document.split(VIEW_SEPARATOR, 1)
    return parts[1] if len(parts) > 1 else ""


class IndonesianPreprocessor(TransformerMixin, BaseEstimator):
    """Normalise, remove stopwords and stem Indonesian complaint text.

    `fit` reads the lexicon into the estimator (`lexicon_`), so a pickled pipeline needs no files
    at prediction time. `transform` maps raw strings to space-joined terms for a vectorizer.

    Parameters
    ----------
    lexicon_dir : directory with slang.tsv, stopwords.txt and protected.txt; None for the bundled one.
    stem : apply the Sastrawi stemmer (protected words excepted).
    remove_stopwords : drop the project's stopwords (never negations or urgency cues).
    surface : also emit the words as written (cleaned and masked, not stemmed) after `VIEW_SEPARATOR`,
        for vectorizers that read that view (see `terms_view` / `surface_view`).
    n_jobs : processes for stemming a large batch's new words (-1: one per core). Small batches, such as
        single requests to the service, never start processes.
    """

    def __init__(
        self,
        lexicon_dir: str | Path | None = None,
        stem: bool = True,
        remove_stopwords: bool = True,
        surface: bool = False,
        n_jobs: int = -1,
    ):
        self.lexicon_dir = lexicon_dir
        self.stem = stem
        self.remove_stopwords = remove_stopwords
        self.surface = surface
        self.n_jobs = n_jobs

    def fit(self, X: Iterable[str], y=None) -> IndonesianPreprocessor:
        _as_texts(X)
        self.lexicon_: Lexicon = load_lexicon(self.lexicon_dir or LEXICON_DIR)
        return self

    def analyse(self, text: str) -> TextAnalysis:
        """What a prediction reads of a text: its normalised words, its feature terms with the word the citizen
        wrote for each, and its `transform` output (see `TextAnalysis`)."""
        return self.analyse_all([text])[0]

    def analyse_all(self, texts: Iterable[str]) -> list[TextAnalysis]:
        """`analyse` for each text. A prediction needs both the features and the words behind them, and this gives
        both from one pass over each text; a batch's new words are stemmed together, as in `transform`."""
        self._check_fitted()
        cleaned = [clean(text) for text in _as_texts(texts)]
        written = [surfaces(c) for c in cleaned]
        if len(written) > 1:
            self._learn_words({w for ws in written for w in ws})
        return [self._analysis(c, ws) for c, ws in zip(cleaned, written, strict=True)]

    def transform(self, X: Iterable[str]) -> np.ndarray:
        self._check_fitted()
        texts = _as_texts(X)
        # The same complaint comes back often (training folds, re-evaluation, resubmissions): the latest
        # distinct texts are remembered with their result.
        documents = self._cache("_doc_cache")
        new = {text: clean(text) for text in texts if text not in documents}
        words = {cleaned: surfaces(cleaned) for cleaned in new.values()}
        if len(new) > 1:
            self._learn_words({w for ws in words.values() for w in ws})
        out = np.empty(len(texts), dtype=object)
        for i, text in enumerate(texts):
            done = documents.get(text)
            if done is None:
                if len(documents) >= MAX_CACHED_DOCUMENTS:
                    documents.clear()
                cleaned = new[text] if text in new else clean(text)
                written = words.get(cleaned) or surfaces(cleaned)
                terms_text = " ".join(found[0] for found in map(self._word, written) if found[0])
                done = documents[text] = self._document(cleaned, terms_text)
            out[i] = done
        return out

    def _analysis(self, cleaned: str, written: list[str]) -> TextAnalysis:
        """A cleaned text's analysis from what each of its written words becomes (see `_learn_words`)."""
        known = self._cache("_term_cache")
        words: list[str] = []
        feature_terms: list[str] = []
        written_for_terms: list[str] = []
        joined: list[str] = []
        for surface in written:
            found = known.get(surface) or self._word(surface)
            if found[0]:
                joined.append(found[0])
            words += found[1]
            feature_terms += found[2]
            written_for_terms += found[3]
        return TextAnalysis(words, feature_terms, written_for_terms, self._document(cleaned, " ".join(joined)))

    def _document(self, cleaned: str, terms_text: str) -> str:
        """The vectorisers' input: the feature terms, then (with `surface`) the cleaned text as written."""
        return f"{terms_text} {VIEW_SEPARATOR} {cleaned}" if self.surface else terms_text

    def _check_fitted(self) -> None:
        # scikit-learn's check reads the estimator's tags first, tens of microseconds on every request
        if "lexicon_" not in self.__dict__:
            check_is_fitted(self, "lexicon_")

    def _word(self, surface: str) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """What one written word becomes (see `_learn_words`), worked out now if it is new."""
        found = self._cache("_term_cache").get(surface)
        if found is None:
            self._learn_words([surface])
            found = self._cache("_term_cache")[surface]
        return found

    def _learn_words(self, written: Iterable[str]) -> None:
        """Work out what each written word not seen before becomes: (its feature terms space-joined, its
        normalised words, its feature terms, the word itself once per feature term). That depends only on the
        word, so repeated words then cost a dictionary lookup instead of normalising and stemming. A large batch's
        new words are stemmed at once, over all cores (`n_jobs`). Only strings and tuples of strings are kept,
        which the garbage collector soon stops walking."""
        known, lexicon = self._cache("_term_cache"), self.lexicon_
        if len(known) >= MAX_CACHED_WORDS:
            known.clear()
        expanded = {s: expand(s, lexicon, root_words()) for s in written if s not in known}
        if self.stem and len(expanded) > 1:
            words = [w for ws in expanded.values() for w in ws]
            stem_words(stem_candidates(words, lexicon, drop_stopwords=self.remove_stopwords), self.n_jobs)
        for surface, ws in expanded.items():
            features = tuple(t.term for t in terms(ws, lexicon, stem=self.stem, drop_stopwords=self.remove_stopwords))
            known[surface] = (" ".join(features), tuple(w.term for w in ws), features, (surface,) * len(features))

    def _cache(self, name: str) -> dict:
        return self.__dict__.setdefault(name, {})

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: saving must not empty the live caches
        for cache in ("_term_cache", "_doc_cache"):  # caches, not part of the model: keep saved models small
            state.pop(cache, None)
        return state

    def __setstate__(self, state):
        # Models saved before `n_jobs` existed load with its default.
        super().__setstate__({"n_jobs": -1, **state})

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
