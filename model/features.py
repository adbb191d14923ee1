"""TF-IDF features of several fitted feature unions at once, for prediction.

Both heads read the same preprocessed text with identically configured vectorisers (word, character and
surface n-grams), and often with the same vocabularies. Splitting a text into n-grams is most of a vectoriser's
cost, so each distinct analyser runs once per text and every head maps the result through its vocabulary;
vectorisers that share their fitted vocabulary (`share_vocabularies`) share the resulting columns too.
The arithmetic is scikit-learn's `TfidfVectorizer.transform` (counts, optional 1 + log, idf, l2 norm) and
`FeatureUnion`'s stacking and weights, checked against them in the tests; a union with a vectoriser configured
otherwise is left to its own `transform`.
"""

from __future__ import annotations

from collections.abc import Sequence
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
        self.offsets = np.cumsum([0, *(len(v.vocabulary_) for v in self.vectorizers)])
        self.idf = np.concatenate([v.idf_ for v in self.vectorizers])
        self.sublinear = np.array([v.sublinear_tf for v in self.vectorizers])
        self.l2 = np.array([v.norm == "l2" for v in self.vectorizers])
        self.weights = np.array([weights.get(name, 1.0) for name, _ in parts], dtype=np.float64)


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
        for vectorizer, key in zip(layout.vectorizers, layout.keys, strict=True):
            fitted = (*key, id(vectorizer.vocabulary_))
            if fitted not in located:
                if vectorizer.analyzer == "char_wb":
                    known = memo.char_columns.setdefault(id(vectorizer.vocabulary_), {})
                    located[fitted] = _char_wb_columns(vectorizer, documents, known)
                else:
                    if key not in analysed:
                        analyse = vectorizer.build_analyzer()
                        analysed[key] = [analyse(d) for d in documents]
                    get = vectorizer.vocabulary_.get
                    located[fitted] = [[j for g in ngrams if (j := get(g)) is not None] for ngrams in analysed[key]]
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


def _fast(vectorizer) -> bool:
    return (
        type(vectorizer) is TfidfVectorizer
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


def _char_wb_columns(
    v: TfidfVectorizer, documents: Sequence[str], known: dict[str, tuple[int, ...]]
) -> list[list[int]]:
    """Vocabulary columns of each document's character n-grams. `char_wb` n-grams never cross a space, so a
    document's n-grams are its words' n-grams one after the other: each distinct word is analysed once, and
    remembered in `known`."""
    preprocess = v.build_preprocessor()
    per_word = TfidfVectorizer(analyzer="char_wb", ngram_range=v.ngram_range, preprocessor=_unchanged).build_analyzer()
    get = v.vocabulary_.get
    if len(known) >= MAX_REMEMBERED_WORDS:
        known.clear()
    out = []
    for document in documents:
        columns: list[int] = []
        for word in preprocess(v.decode(document)).split():
            found = known.get(word)
            if found is None:
                found = known[word] = tuple(j for g in per_word(word) if (j := get(g)) is not None)
            columns += found
        out.append(columns)
    return out


def _unchanged(text: str) -> str:
    return text


def _tfidf(layout: _Layout, columns: list[list[list[int]]]) -> sp.csr_matrix:
    """scikit-learn's TF-IDF of each vectoriser, side by side and weighted as `FeatureUnion` puts them, from
    each document's vocabulary columns per vectoriser (one per n-gram occurrence).

    Everything is done on whole arrays at once: per vectoriser and per document, numpy's and scipy's fixed
    costs would be most of a single request's time."""
    n_documents, n_parts = len(columns[0]), len(columns)
    width = int(layout.offsets[-1])
    keys = []
    for offset, per_document in zip(layout.offsets[:-1], columns, strict=True):
        lengths = np.fromiter(map(len, per_document), dtype=np.int64, count=n_documents)
        flat = np.fromiter(chain.from_iterable(per_document), dtype=np.int64, count=int(lengths.sum()))
        keys.append(np.repeat(np.arange(n_documents) * width, lengths) + (flat + offset))
    # One number per (document, column) pair: sorted and counted, they give the CSR layout and the counts.
    pairs, counts = np.unique(np.concatenate(keys), return_counts=True)
    rows, indices = np.divmod(pairs, width)
    block = np.searchsorted(layout.offsets, indices, side="right") - 1
    data = counts.astype(np.float64)
    sublinear = layout.sublinear[block]
    data[sublinear] = np.log(data[sublinear]) + 1.0
    data *= layout.idf[indices]
    # l2 norm of each (document, vectoriser) part, for the vectorisers that normalise.
    part = rows * n_parts + block
    norms = np.sqrt(np.bincount(part, weights=data**2, minlength=n_documents * n_parts))[part]
    normalised = layout.l2[block] & (norms != 0)
    data[normalised] /= norms[normalised]
    data *= layout.weights[block]
    indptr = np.zeros(n_documents + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n_documents), out=indptr[1:])
    return sp.csr_matrix((data, indices.astype(np.int32), indptr), shape=(n_documents, width))
