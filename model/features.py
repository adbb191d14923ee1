"""TF-IDF features of several fitted feature unions at once, for prediction; and the vectoriser the heads fit.

Both heads read the same preprocessed text with identically configured vectorisers (word, character and
surface n-grams), and often with the same vocabularies. Splitting a text into n-grams is most of a vectoriser's
cost, so each distinct analyser runs once per text and every head maps the result through its vocabulary;
vectorisers that share their fitted vocabulary (`share_vocabularies`) share the resulting columns too.
The arithmetic is scikit-learn's `TfidfVectorizer.transform` (counts, optional 1 + log, idf, l2 norm) and
`FeatureUnion`'s stacking and weights, checked against them in the tests; a union with a vectoriser configured
otherwise is left to its own `transform`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

MAX_REMEMBERED_WORDS = 50_000  # per vectoriser, words whose character n-gram columns are kept (~3 MB per 10k)


@dataclass
class FeatureMemo:
    """What `transform_unions` keeps between calls, for a caller that owns the unions (a loaded model)."""

    layouts: dict[int, _Layout] = field(default_factory=dict)  # id(union) -> its fixed facts
    char_columns: dict[int, dict[str, tuple[int, ...]]] = field(
        default_factory=dict
    )  # id(vocabulary) -> word -> columns


class _Layout:
    """A fitted union's fixed facts, worked out once rather than per request: its vectorisers and what decides
    their analysis, where each one's columns start, and per column or vectoriser the idf, counting, norm and
    weight. `fast` is false when a vectoriser is configured in a way the arrays below do not cover."""

    def __init__(self, union: FeatureUnion):
        weights = union.transformer_weights or {}
        parts = [(name, v) for name, v in union.transformer_list if v != "drop"]
        self.fast = bool(parts) and all(_fast(v) for _, v in parts)
        if not self.fast:
            return
        self.vectorizers = [v for _, v in parts]
        # The same analysis settings and vocabulary object (see `share_vocabularies`) give the same columns.
        self.keys = [_analysis_key(v) for v in self.vectorizers]
        # What splits a document into n-grams, built once: for `char_wb`, its preprocessor and a per-word analyser.
        self.analysers = [
            (v.build_preprocessor(), _per_word_analyser(v)) if v.analyzer == "char_wb" else _analyser(v)
            for v in self.vectorizers
        ]
        self.offsets = np.cumsum([0, *(len(v.vocabulary_) for v in self.vectorizers)])
        self.idf = np.concatenate([v.idf_ for v in self.vectorizers])
        self.sublinear = np.array([v.sublinear_tf for v in self.vectorizers])
        self.l2 = np.array([v.norm == "l2" for v in self.vectorizers])
        self.weights = np.array([weights.get(name, 1.0) for name, _ in parts], dtype=np.float64)
        # Usually every vectoriser counts, normalises and weighs alike: then no per-entry selection is needed.
        self.uniform = bool(self.sublinear.all() or not self.sublinear.any()) and bool(
            self.l2.all() or not self.l2.any()
        )
        self.unweighted = bool((self.weights == 1.0).all())


def transform_unions(
    unions: Sequence[FeatureUnion], documents: Sequence[str], memo: FeatureMemo | None = None
) -> list[sp.csr_matrix]:
    """`[union.transform(documents) for union in unions]`, with each distinct analysis done once.

    `memo`, kept by the caller between calls, holds each union's layout and each word's character n-gram
    columns: a service sees the same words in request after request."""
    memo = FeatureMemo() if memo is None else memo
    analysed: dict[tuple, list[list[str]]] = {}
    located: dict[tuple, list[list[int]]] = {}
    out = []
    for union in unions:
        layout = memo.layouts.get(id(union)) or memo.layouts.setdefault(id(union), _Layout(union))
        if not layout.fast:
            out.append(union.transform(documents))
            continue
        columns = []
        for vectorizer, key, analyser in zip(layout.vectorizers, layout.keys, layout.analysers, strict=True):
            fitted = (*key, id(vectorizer.vocabulary_))
            if fitted not in located:
                if vectorizer.analyzer == "char_wb":
                    known = memo.char_columns.setdefault(id(vectorizer.vocabulary_), {})
                    located[fitted] = _char_wb_columns(vectorizer, *analyser, documents, known)
                else:
                    if key not in analysed:
                        analysed[key] = [analyser(d) for d in documents]
                    get = vectorizer.vocabulary_.get
                    located[fitted] = [[j for j in map(get, ngrams) if j is not None] for ngrams in analysed[key]]
            columns.append(located[fitted])
        out.append(_tfidf(layout, columns))
    return out


def share_vocabularies(unions: Sequence[FeatureUnion]) -> None:
    """Let vectorisers with the same settings, vocabulary and idf hold one copy of them (fitted on the same
    texts, the heads' vectorisers usually are): less memory, a smaller saved model, one block per text."""
    seen: list[TfidfVectorizer] = []
    for union in unions:
        for _, vectorizer in union.transformer_list:
            if not _fast(vectorizer):
                continue
            twin = next((v for v in seen if _same_fitted(v, vectorizer)), None)
            if twin is None:
                seen.append(vectorizer)
            else:
                vectorizer.vocabulary_ = twin.vocabulary_
                vectorizer.idf_ = twin.idf_


def _same_fitted(a: TfidfVectorizer, b: TfidfVectorizer) -> bool:
    return (
        a.get_params() == b.get_params()
        and (a.vocabulary_ is b.vocabulary_ or a.vocabulary_ == b.vocabulary_)
        and np.array_equal(a.idf_, b.idf_)
    )


def same_features(a: FeatureUnion, b: FeatureUnion) -> bool:
    """Whether two fitted unions map every text to the same features (same settings, vocabularies and idf)."""
    if a.transformer_weights != b.transformer_weights or len(a.transformer_list) != len(b.transformer_list):
        return False
    return all(
        name_a == name_b and _fast(va) and _fast(vb) and _same_fitted(va, vb)
        for (name_a, va), (name_b, vb) in zip(a.transformer_list, b.transformer_list, strict=True)
    )


class FastTfidfVectorizer(TfidfVectorizer):
    """`TfidfVectorizer` whose analyser makes the same n-grams with less work, for fitting and for scikit-learn's
    own `transform` (cross-validation, evaluation): word n-grams are joined from zipped tokens, and `char_wb`
    n-grams, which never cross a space, are made once per distinct word of the documents analysed together.
    Same parameters, vocabulary, idf and matrices as its parent (checked in the tests), so it pickles, clones and
    serves like one."""

    def build_analyzer(self) -> Callable[[str], list[str]]:
        if self.analyzer == "char_wb":
            return _char_wb_analyser(self)
        if _joins_words(self):
            return _word_analyser(self)
        return super().build_analyzer()


def _fast(vectorizer) -> bool:
    return (
        type(vectorizer) in (TfidfVectorizer, FastTfidfVectorizer)
        and not vectorizer.binary
        and vectorizer.use_idf
        and vectorizer.norm in ("l2", None)
        and vectorizer.dtype == np.float64
        and isinstance(vectorizer.analyzer, str)
    )


def _analysis_key(v: TfidfVectorizer) -> tuple:
    """Everything that decides which n-grams a vectoriser sees in a document."""
    stop = v.stop_words if v.stop_words is None or isinstance(v.stop_words, str) else tuple(sorted(v.stop_words))
    return (
        v.analyzer, v.preprocessor, v.tokenizer, v.token_pattern, tuple(v.ngram_range), v.lowercase,
        v.strip_accents, stop, v.input, v.encoding, v.decode_error,
    )  # fmt: skip


def _analyser(v: TfidfVectorizer) -> Callable[[str], list[str]]:
    """`v.build_analyzer()`, or for word n-grams without stop words the same n-grams made faster."""
    return _word_analyser(v) if _joins_words(v) else v.build_analyzer()


def _joins_words(v: TfidfVectorizer) -> bool:
    """Whether `_word_analyser` gives `v`'s n-grams: word n-grams, with no stop words removed between them."""
    return v.analyzer == "word" and v.get_stop_words() is None


def _word_analyser(v: TfidfVectorizer) -> Callable[[str], list[str]]:
    """`v`'s word n-grams (without stop words) in another order, which counting ignores, made by joining zipped
    tokens: scikit-learn slices the token list once per n-gram."""
    decode, preprocess, tokenize = v.decode, v.build_preprocessor(), v.build_tokenizer()
    min_n, max_n = v.ngram_range
    join = " ".join

    def analyse(document: str) -> list[str]:
        tokens = tokenize(preprocess(decode(document)))
        grams = list(tokens) if min_n == 1 else []
        for n in range(max(min_n, 2), max_n + 1):
            grams += map(join, zip(*(tokens[k:] for k in range(n)), strict=False))  # n-grams end with the text
        return grams

    return analyse


def _char_wb_analyser(v: TfidfVectorizer) -> Callable[[str], list[str]]:
    """`v`'s `char_wb` n-grams of a document, each distinct word analysed once per analyser (bounded)."""
    decode, preprocess, per_word = v.decode, v.build_preprocessor(), _per_word_analyser(v)
    known: dict[str, list[str]] = {}

    def analyse(document: str) -> list[str]:
        if len(known) >= MAX_REMEMBERED_WORDS:
            known.clear()
        grams: list[str] = []
        for word in preprocess(decode(document)).split():
            found = known.get(word)
            if found is None:
                found = known[word] = per_word(word)
            grams += found
        return grams

    return analyse


def _per_word_analyser(v: TfidfVectorizer) -> Callable[[str], list[str]]:
    """`v`'s character n-grams of one already preprocessed word."""
    return TfidfVectorizer(analyzer="char_wb", ngram_range=v.ngram_range, preprocessor=_unchanged).build_analyzer()


def _char_wb_columns(
    v: TfidfVectorizer,
    preprocess: Callable[[str], str],
    per_word: Callable[[str], list[str]],
    documents: Sequence[str],
    known: dict[str, tuple[int, ...]],
) -> list[list[int]]:
    """Vocabulary columns of each document's character n-grams. `char_wb` n-grams never cross a space, so a
    document's n-grams are its words' n-grams one after the other: each distinct word is analysed once, and
    remembered in `known`."""
    get = v.vocabulary_.get
    if len(known) >= MAX_REMEMBERED_WORDS:
        known.clear()
    out = []
    for document in documents:
        columns: list[int] = []
        for word in preprocess(v.decode(document)).split():
            found = known.get(word)
            if found is None:
                found = known[word] = tuple(j for j in map(get, per_word(word)) if j is not None)
            columns += found
        out.append(columns)
    return out


def _unchanged(text: str) -> str:
    return text


def _tfidf(layout: _Layout, columns: list[list[list[int]]]) -> sp.csr_matrix:
    """scikit-learn's TF-IDF of each vectoriser, side by side and weighted as `FeatureUnion` puts them, from
    each document's vocabulary columns per vectoriser (one per n-gram occurrence).

    Everything is done on whole arrays at once, in as few numpy calls as the layout allows: per vectoriser and per
    document, numpy's and scipy's fixed costs would be most of a single request's time."""
    n_documents, n_parts = len(columns[0]), len(columns)
    width = int(layout.offsets[-1])
    # Every occurrence as one number, document * width + the column in the union, vectoriser after vectoriser.
    lengths = np.fromiter(map(len, chain.from_iterable(columns)), dtype=np.int64, count=n_parts * n_documents)
    flat = np.fromiter(chain.from_iterable(chain.from_iterable(columns)), dtype=np.int64, count=int(lengths.sum()))
    starts = layout.offsets[:-1, None] + np.arange(n_documents) * width  # (vectoriser, document)
    keys = flat + np.repeat(starts.ravel(), lengths)
    # Sorted, equal runs are (document, column) pairs with their counts, already in CSR order.
    keys.sort()
    first = np.empty(len(keys), dtype=bool)
    first[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    run_starts = np.flatnonzero(first)
    counts = np.diff(run_starts, append=len(keys))
    rows, indices = np.divmod(keys[run_starts], width)
    block = np.searchsorted(layout.offsets, indices, side="right") - 1
    data = counts.astype(np.float64)
    if layout.uniform:
        if layout.sublinear[0]:
            np.log(data, out=data)
            data += 1.0
    else:
        sublinear = layout.sublinear[block]
        data[sublinear] = np.log(data[sublinear]) + 1.0
    data *= layout.idf[indices]
    # l2 norm of each (document, vectoriser) part, for the vectorisers that normalise. Entries are counts times
    # idf (>= 1), so a part with any entry has a positive norm.
    if layout.l2.any():
        part = rows * n_parts + block
        norms = np.sqrt(np.bincount(part, weights=data * data, minlength=n_documents * n_parts))[part]
        if layout.uniform:
            data /= norms
        else:
            normalised = layout.l2[block]
            data[normalised] /= norms[normalised]
    if not layout.unweighted:
        data *= layout.weights[block]
    indptr = np.searchsorted(rows, np.arange(n_documents + 1)).astype(np.int32)
    return sp.csr_matrix((data, indices.astype(np.int32), indptr), shape=(n_documents, width))
