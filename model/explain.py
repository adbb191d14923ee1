"""Which words pushed a prediction: linear contributions of word features, shown as the citizen's words."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.pipeline import Pipeline

TOP_TERMS = 5


def linear_weights(head: Pipeline) -> np.ndarray:
    """Class x word-feature weight matrix of a fitted head."""
    coef = head.named_steps["clf"].coef_
    word_vectorizer = head.named_steps["features"].transformer_list[0][1]
    return np.asarray(coef[:, : len(word_vectorizer.vocabulary_)])


def feature_names(head: Pipeline) -> np.ndarray:
    return head.named_steps["features"].transformer_list[0][1].get_feature_names_out()


def surface_forms(terms: list[str], written: list[str]) -> dict[str, list[str]]:
    """Term -> the words the citizen wrote that produced it, in order of appearance."""
    forms: dict[str, list[str]] = {}
    for term, word in zip(terms, written, strict=True):
        seen = forms.setdefault(term, [])
        if word not in seen:
            seen.append(word)
    return forms


def top_terms(
    x: sp.csr_matrix, i: int, weights: np.ndarray, names: np.ndarray, surfaces: dict[str, list[str]]
) -> list[dict]:
    """The strongest positive contributions of document `i`'s word features (row `i` of `x`) to one class."""
    start, end = x.indptr[i], x.indptr[i + 1]
    columns, values = x.indices[start:end], x.data[start:end]
    word = columns < weights.shape[0]  # word features come first in the feature union
    columns, values = columns[word], values[word]
    if len(columns) == 0:
        return []
    contributions = values * weights[columns]
    order = np.argsort(-contributions)[:TOP_TERMS]
    out = []
    for i in order:
        if contributions[i] <= 0:
            break
        term = names[columns[i]]
        words = [surfaces.get(part, [part])[0] for part in term.split()]
        out.append({"word": " ".join(words), "term": str(term), "weight": round(float(contributions[i]), 4)})
    return out
