"""TF-IDF features of several fitted feature unions at once, for prediction.

Both heads read the same preprocessed text with identically configured vectorisers (word, character and
surface n-grams), and often with the same vocabularies. Splitting a text into n-grams is most of a vectoriser's
cost, so each distinct analyser runs once per text and every head maps the result through its vocabulary;
vectorisers that share their fitted vocabulary (`share_vocabularies`) share the resulting block too.
The arithmetic is scikit-learn's `TfidfVectorizer.transform` (counts, optional 1 + log, idf, l2 norm), checked
against it in the tests; vectorisers configured otherwise are simply asked to `transform`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion


def transform_unions(unions: Sequence[FeatureUnion], documents: Sequence[str]) -> list[sp.csr_matrix]:
    """`[union.transform(documents) for union in unions]`, with each distinct analysis and block done once."""
    analysed: dict[tuple, list[list[str]]] = {}
    computed: dict[tuple, sp.csr_matrix] = {}
    out = []
    for union in unions:
        weights = union.transformer_weights or {}
        blocks = []
        for name, vectorizer in union.transformer_list:
            if vectorizer in ("drop", "passthrough"):
                continue
            if _fast(vectorizer):
                key = _analysis_key(vectorizer)
                # The same vocabulary and idf objects (see `share_vocabularies`) give the same block.
                fitted = (
                    *key,
                    vectorizer.sublinear_tf,
                    vectorizer.norm,
                    id(vectorizer.vocabulary_),
                    id(vectorizer.idf_),
                )
                if fitted not in computed:
                    if vectorizer.analyzer == "char_wb":
                        columns = _char_wb_columns(vectorizer, documents)
                    else:
                        if key not in analysed:
                            analyse = vectorizer.build_analyzer()
                            analysed[key] = [analyse(d) for d in documents]
                        get = vectorizer.vocabulary_.get
                        columns = [[j for g in ngrams if (j := get(g)) is not None] for ngrams in analysed[key]]
                    computed[fitted] = _tfidf(vectorizer, columns)
                block = computed[fitted]
            else:
                block = vectorizer.transform(documents)
            blocks.append(block * weights[name] if name in weights else block)
        out.append(sp.hstack(blocks, format="csr"))
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


def _char_wb_columns(v: TfidfVectorizer, documents: Sequence[str]) -> list[list[int]]:
    """Vocabulary columns of each document's character n-grams. `char_wb` n-grams never cross a space, so a
    document's n-grams are its words' n-grams one after the other: each distinct word is analysed once."""
    preprocess = v.build_preprocessor()
    per_word = TfidfVectorizer(analyzer="char_wb", ngram_range=v.ngram_range, preprocessor=_unchanged).build_analyzer()
    get = v.vocabulary_.get
    known: dict[str, list[int]] = {}
    out = []
    for document in documents:
        columns: list[int] = []
        for word in preprocess(v.decode(document)).split():
            found = known.get(word)
            if found is None:
                found = known[word] = [j for g in per_word(word) if (j := get(g)) is not None]
            columns += found
        out.append(columns)
    return out


def _unchanged(text: str) -> str:
    return text


def _tfidf(v: TfidfVectorizer, columns: list[list[int]]) -> sp.csr_matrix:
    """scikit-learn's TF-IDF from each document's vocabulary columns (one per n-gram occurrence)."""
    indices: list[int] = []
    counts: list[int] = []
    indptr = [0]
    for row in columns:
        counted = Counter(row)
        indices += counted.keys()
        counts += counted.values()
        indptr.append(len(indices))
    x = sp.csr_matrix(
        (np.asarray(counts, dtype=np.float64), np.asarray(indices, dtype=np.int32), np.asarray(indptr, np.int32)),
        shape=(len(columns), len(v.vocabulary_)),
    )
    x.sort_indices()
    if v.sublinear_tf:
        np.log(x.data, x.data)
        x.data += 1.0
    x.data *= v.idf_[x.indices]
    if v.norm == "l2":
        rows = np.repeat(np.arange(len(columns)), np.diff(x.indptr))
        norms = np.sqrt(np.bincount(rows, weights=x.data**2, minlength=len(columns)))
        x.data /= np.where(norms == 0, 1.0, norms)[rows]
    return x
