"""The preprocessing transformer obeys the scikit-learn estimator contract."""

from __future__ import annotations

import pickle

import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from model.preprocess import IndonesianPreprocessor

TEXTS = ["Lampu PJU di Sekupang mati", "sampah blm diangkut udh seminggu", "ada kebakaran di Bengkong!!"]


@pytest.mark.parametrize(
    "check",
    [
        check_no_attributes_set_in_init,
        check_parameters_default_constructible,
        check_get_params_invariance,
        check_set_params,
    ],
)
def test_sklearn_estimator_checks(check):
    check("IndonesianPreprocessor", IndonesianPreprocessor())


def test_clone_keeps_params_and_drops_fitted_state():
    fitted = IndonesianPreprocessor(stem=False).fit(TEXTS)
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "lexicon_")


def test_pickle_round_trip_transforms_identically(tmp_path):
    fitted = IndonesianPreprocessor().fit(TEXTS)
    restored = pickle.loads(pickle.dumps(fitted))
    assert list(restored.transform(TEXTS)) == list(fitted.transform(TEXTS))


def test_fitted_lexicon_travels_with_the_estimator(tmp_path):
    lexicon = tmp_path / "lex"
    lexicon.mkdir()
    (lexicon / "slang.tsv").write_text("pju\tlampu jalan\n", encoding="utf-8")
    (lexicon / "stopwords.txt").write_text("di\n", encoding="utf-8")
    (lexicon / "protected.txt").write_text("sekupang\n", encoding="utf-8")
    fitted = IndonesianPreprocessor(lexicon_dir=lexicon).fit(TEXTS)
    restored = pickle.loads(pickle.dumps(fitted))
    for path in lexicon.iterdir():
        path.unlink()  # the saved estimator must not need the files any more
    assert restored.transform(["pju di sekupang"])[0] == "lampu jalan sekupang"


def test_stopwords_with_a_negation_are_refused(tmp_path):
    (tmp_path / "slang.tsv").write_text("", encoding="utf-8")
    (tmp_path / "stopwords.txt").write_text("yang\ntidak\n", encoding="utf-8")
    (tmp_path / "protected.txt").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="tidak"):
        IndonesianPreprocessor(lexicon_dir=tmp_path).fit(TEXTS)


def test_transform_before_fit_raises():
    with pytest.raises(NotFittedError):
        IndonesianPreprocessor().transform(TEXTS)


def test_params_change_behaviour():
    stemmed = IndonesianPreprocessor().fit(TEXTS).transform(["perbaikan jalan"])[0]
    raw = IndonesianPreprocessor(stem=False).fit(TEXTS).transform(["perbaikan jalan"])[0]
    assert (stemmed, raw) == ("baik jalan", "perbaikan jalan")


def test_one_pipeline_carries_everything():
    pipe = Pipeline([("prep", IndonesianPreprocessor()), ("tfidf", TfidfVectorizer()), ("clf", LogisticRegression())])
    pipe.fit(TEXTS * 2, ["perhubungan", "lingkungan-hidup", "pemadam-kebakaran"] * 2)
    restored = pickle.loads(pickle.dumps(pipe))
    query = ["lampu pju padam di sekupang", "kebakaran gudang"]
    assert list(restored.predict(query)) == ["perhubungan", "pemadam-kebakaran"]
    assert (restored.predict_proba(query) == pipe.predict_proba(query)).all()


def test_surface_view_carries_unstemmed_words_for_their_own_vectorizer():
    from model.preprocess import surface_view, terms_view

    doc = IndonesianPreprocessor(surface=True).fit(TEXTS).transform(["Perbaikan jalan, hub 0812-3456-7890"])[0]
    assert terms_view(doc).split() == ["baik", "jalan", "hub", "_telepon_"]
    assert surface_view(doc).split() == ["perbaikan", "jalan,", "hub", "_telepon_"]  # identifiers masked
    plain = IndonesianPreprocessor().fit(TEXTS).transform(["Perbaikan jalan"])[0]
    assert terms_view(plain) == plain and surface_view(plain) == ""


def test_speed_caches_are_not_saved_with_the_model(corpus):
    """The per-word and per-document caches and the classifier's fast lookup tables are rebuilt on use;
    saving them would bloat every registered model (they once doubled its size)."""
    import pickle

    from model.pipeline import build_head

    rows = corpus.groupby("opd").head(8)
    head = build_head(C=0.5, calibration_cv=2).fit(rows["text"].tolist(), rows["opd"].tolist())
    before = head.predict_proba(rows["text"].tolist()[:5])
    assert head.named_steps["prep"].__dict__.get("_doc_cache") and head.named_steps["clf"]._maps
    restored = pickle.loads(pickle.dumps(head))
    assert "_doc_cache" not in vars(restored.named_steps["prep"]) and "_term_cache" not in vars(
        restored.named_steps["prep"]
    )
    assert "_maps" not in vars(restored.named_steps["clf"])
    assert (restored.predict_proba(rows["text"].tolist()[:5]) == before).all()
