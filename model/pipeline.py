"""Construction of one classification head: preprocessing -> TF-IDF features -> calibrated linear model."""

from __future__ import annotations

from typing import Any

from sklearn.pipeline import FeatureUnion, Pipeline

from model.classifier import CalibratedLinearSVC
from model.features import FastTfidfVectorizer
from model.preprocess import IndonesianPreprocessor, surface_view, terms_view


def build_head(
    *,
    C: float = 0.5,
    word_ngram_max: int = 2,
    word_min_df: int = 1,
    char_ngrams: bool = True,
    char_ngram_range: tuple[int, int] = (2, 5),
    char_min_df: int = 2,
    class_weight: str | None = "balanced",
    calibration: str = "sigmoid",
    calibration_cv: int = 5,
    stem: bool = True,
    surface_words: bool = False,
    surface_min_df: int = 2,
    **unknown: Any,
) -> Pipeline:
    """A head for either label set; keyword arguments come from `training/params.yaml`."""
    if unknown:
        raise TypeError(f"unknown head parameter(s): {sorted(unknown)}")
    features: list[tuple[str, FastTfidfVectorizer]] = [
        (
            "word",
            FastTfidfVectorizer(
                ngram_range=(1, word_ngram_max),
                min_df=word_min_df,
                sublinear_tf=True,
                token_pattern=r"(?u)\b\w\w+\b",
                preprocessor=terms_view,
            ),
        )
    ]
    if char_ngrams:
        # Character n-grams carry typos and unseen inflections that word features miss.
        features.append(
            (
                "char",
                FastTfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=tuple(char_ngram_range),
                    min_df=char_min_df,
                    sublinear_tf=True,
                    preprocessor=terms_view,
                ),
            )
        )
    if surface_words:
        # Unstemmed words keep distinctions stemming erases ("perantingan" vs "anting", "pemadam" vs "padam").
        features.append(
            (
                "surface",
                FastTfidfVectorizer(
                    ngram_range=(1, 2), min_df=surface_min_df, sublinear_tf=True, preprocessor=surface_view
                ),
            )
        )
    classifier = CalibratedLinearSVC(C=C, class_weight=class_weight, method=calibration, cv=calibration_cv)
    return Pipeline(
        [
            ("prep", IndonesianPreprocessor(stem=stem, surface=surface_words)),
            ("features", FeatureUnion(features)),
            ("clf", classifier),
        ]
    )
