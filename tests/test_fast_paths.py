"""The speed-ups give exactly what the plain library calls give: shared TF-IDF analysis, parallel stemming,
batched preprocessing, and the service's shared model calls."""

from __future__ import annotations

import asyncio
import pickle
import threading
from types import SimpleNamespace

import numpy as np
import pytest
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

from model import normalize
from model.features import same_features, transform_unions
from model.pipeline import build_head
from model.preprocess import IndonesianPreprocessor
from serving.batcher import INLINE_CHARS, MicroBatcher


@pytest.fixture(scope="module")
def heads(corpus):
    rows = corpus.groupby("opd").head(12)
    rows = rows[rows.groupby("urgency")["urgency"].transform("size") >= 4]
    texts = rows["text"].tolist()
    opd = build_head(C=0.5, calibration_cv=2, surface_words=True).fit(texts, rows["opd"].tolist())
    urgency = build_head(C=0.5, calibration_cv=2, surface_words=True).fit(texts, rows["urgency"].tolist())
    more = corpus.tail(60)  # a different vocabulary
    other = build_head(C=0.5, calibration_cv=2, surface_words=True).fit(
        texts + more["text"].tolist(), rows["opd"].tolist() + more["opd"].tolist()
    )
    return opd, urgency, other


def test_shared_analysis_gives_scikit_learns_features(heads, corpus):
    opd, urgency, other = heads
    texts = [*corpus["text"].tolist()[-40:], "", "!!!", "zzz qqq"]  # unseen words and empty documents too
    docs = opd.named_steps["prep"].transform(texts)
    unions = [h.named_steps["features"] for h in (opd, urgency, other)]
    for fast, union in zip(transform_unions(unions, docs), unions, strict=True):
        reference = union.transform(docs)
        assert fast.shape == reference.shape and fast.nnz == reference.nnz
        assert abs(fast - reference).max() < 1e-12
    one = transform_unions(unions[:1], docs[:1])[0]
    assert abs(one - unions[0].transform(docs[:1])).max() < 1e-12


def test_heads_share_features_only_when_fitted_alike(heads):
    opd, urgency, other = heads
    assert same_features(opd.named_steps["features"], urgency.named_steps["features"])
    assert not same_features(opd.named_steps["features"], other.named_steps["features"])


def test_parallel_stemming_equals_sastrawi(corpus, monkeypatch):
    words = sorted({w for t in corpus["text"].str.lower() for w in normalize._TOKEN.findall(t) if len(w) > 3})[:600]
    monkeypatch.setattr(normalize, "_stems", {})
    monkeypatch.setattr(normalize, "PARALLEL_MIN_WORDS", 100)
    normalize.stem_words(words, n_jobs=2)
    plain = StemmerFactory().create_stemmer()
    assert {w: normalize._stems[w] for w in words} == {w: plain.stem(w) or w for w in words}


def test_batch_preprocessing_equals_one_text_at_a_time(corpus, monkeypatch):
    texts = corpus["text"].tolist()[:300]
    monkeypatch.setattr(normalize, "_stems", {})
    monkeypatch.setattr(normalize, "PARALLEL_MIN_WORDS", 100)
    batch = IndonesianPreprocessor(surface=True).fit([]).transform(texts)
    monkeypatch.setattr(normalize, "_stems", {})
    single = IndonesianPreprocessor(surface=True).fit([])
    assert list(batch) == [single.transform([t])[0] for t in texts]


def test_models_saved_before_n_jobs_existed_still_load():
    prep = IndonesianPreprocessor().fit([])
    state = prep.__getstate__()
    del state["n_jobs"]
    old = IndonesianPreprocessor.__new__(IndonesianPreprocessor)
    old.__setstate__(state)
    assert old.get_params()["n_jobs"] == -1 and list(old.transform(["jalan rusak"])) == ["jalan rusak"]
    assert pickle.loads(pickle.dumps(old)).n_jobs == -1


class FakeModel:
    """Echoes its texts with its name, counts its calls, and fails on a text saying 'boom'."""

    def __init__(self, name: str):
        self.name = name
        self.calls: list[list[str]] = []
        self.threads: list[threading.Thread] = []

    def predict(self, texts, thresholds=None):
        self.calls.append(list(texts))
        self.threads.append(threading.current_thread())
        if "boom" in texts:
            raise RuntimeError("model failed")
        return [f"{self.name}:{t}" for t in texts]


def loaded(name: str):
    return SimpleNamespace(model=FakeModel(name), thresholds={})


def test_concurrent_requests_share_calls_and_get_their_own_answers():
    async def scenario():
        batcher = MicroBatcher()
        batcher.start()
        first, second = loaded("v1"), loaded("v2")
        requests = [(first, [f"a{i}"]) for i in range(5)] + [(second, ["b0", "b1"]), (first, ["a5", "a6"])]
        answers = await asyncio.gather(*(batcher.predict(m, texts) for m, texts in requests))
        await batcher.stop()
        return first, second, requests, answers

    first, second, requests, answers = asyncio.run(scenario())
    for (model, texts), answer in zip(requests, answers, strict=True):
        assert answer == [f"{model.model.name}:{t}" for t in texts]  # own texts, own model version, in order
    # All waiting requests went out together: one call per model version, not one per request.
    assert len(first.model.calls) == 1 and len(second.model.calls) == 1


def test_a_failed_call_fails_its_requests_and_the_next_ones_are_served():
    async def scenario():
        batcher = MicroBatcher()
        batcher.start()
        model = loaded("v1")
        failed = await asyncio.gather(batcher.predict(model, ["boom"]), return_exceptions=True)
        after = await batcher.predict(model, ["fine"])
        await batcher.stop()
        return failed, after

    failed, after = asyncio.run(scenario())
    assert isinstance(failed[0], RuntimeError) and after == ["v1:fine"]


def test_predictions_are_unchanged_by_the_fast_paths(heads, corpus):
    """The served model's features (shared analysis) equal the plain pipeline's, so its probabilities do."""
    opd, _, _ = heads
    texts = corpus["text"].tolist()[-30:]
    x_fast = transform_unions([opd.named_steps["features"]], opd.named_steps["prep"].transform(texts))[0]
    fast = opd.named_steps["clf"].predict_proba(x_fast)
    assert np.abs(fast - opd.predict_proba(texts)).max() < 1e-12


def test_character_ngrams_word_by_word_equal_scikit_learns():
    """`char_wb` n-grams are computed once per distinct word; whitespace of any kind must not change them."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    docs = ["jalan  rusak\tparah\njalan", "Lampu PJU mati", "", "a", "ééé ü ab", "jalan jalan jalan"]
    union = FeatureUnion([("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True))])
    union.fit(docs)
    assert abs(transform_unions([union], docs)[0] - union.transform(docs)).max() < 1e-12


@pytest.mark.parametrize(
    "settings",
    [
        {"ngram_range": (1, 2), "min_df": 2, "sublinear_tf": True},
        {"ngram_range": (2, 3), "token_pattern": r"\S+"},
        {"analyzer": "char_wb", "ngram_range": (2, 5), "min_df": 2, "sublinear_tf": True},
        {"analyzer": "char_wb", "ngram_range": (1, 3), "lowercase": False},
        {"stop_words": ["dan", "di", "yang"], "ngram_range": (1, 2)},  # left to scikit-learn's analyser
        {"analyzer": "char", "ngram_range": (2, 3)},
    ],
)
def test_the_fast_vectoriser_fits_and_transforms_as_scikit_learns(corpus, settings):
    """Same vocabulary, idf and matrices as `TfidfVectorizer`, whitespace of any kind and empty texts included;
    and it clones and pickles with its parameters."""
    from sklearn.base import clone
    from sklearn.feature_extraction.text import TfidfVectorizer

    from model.features import FastTfidfVectorizer

    docs = [*corpus["text"].tolist()[:150], "", "jalan  rusak\tparah\njalan", "Jalan JALAN ééé"]
    plain, fast = TfidfVectorizer(**settings), FastTfidfVectorizer(**settings)
    x_plain, x_fast = plain.fit_transform(docs[:120]), fast.fit_transform(docs[:120])
    assert fast.vocabulary_ == plain.vocabulary_ and np.array_equal(fast.idf_, plain.idf_)
    assert (x_fast != x_plain).nnz == 0
    assert (fast.transform(docs[100:]) != plain.transform(docs[100:])).nnz == 0
    again = pickle.loads(pickle.dumps(clone(fast)))
    assert type(again) is FastTfidfVectorizer and again.get_params() == fast.get_params()


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibrated_probabilities_equal_scikit_learns(corpus, method):
    """All folds in one product and one calibration lookup give `CalibratedClassifierCV`'s probabilities, and the
    folds' estimators, which then read their weights from the shared array, still give their own. (Scores summed
    in another order differ in the last bits, which a steep calibration step magnifies to about 1e-12.)"""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from model.classifier import CalibratedLinearSVC

    rows = corpus.groupby("opd").head(15)
    x = TfidfVectorizer(sublinear_tf=True).fit_transform(rows["text"])
    clf = CalibratedLinearSVC(C=0.5, method=method, cv=3).fit(x, rows["opd"])
    reference = clf.calibrated_.predict_proba(x)
    assert np.abs(clf.predict_proba(x) - reference).max() < 1e-10
    assert np.abs(clf.predict_proba(x[:1]) - reference[:1]).max() < 1e-10
    assert np.abs(clf.calibrated_.predict_proba(x) - reference).max() < 1e-10
    restored = pickle.loads(pickle.dumps(clf))
    assert np.abs(restored.predict_proba(x) - reference).max() < 1e-10
    # A saved model's weights come back in C order, liblinear's in Fortran order: in both cases the stacked
    # weights must be in the layout scipy multiplies in place, or every request copies all of them.
    assert clf._maps.coef_t.flags.c_contiguous and restored._maps.coef_t.flags.c_contiguous


def test_a_refitted_classifier_answers_with_its_new_fit(corpus):
    """The fused folds are built on the first prediction after a fit; fitting again must not leave them stale."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from model.classifier import CalibratedLinearSVC

    rows = corpus.groupby("opd").head(12)
    x = TfidfVectorizer(sublinear_tf=True).fit_transform(rows["text"])
    first, second = rows["opd"].iloc[: len(rows) // 2].unique()[:3], rows["opd"].unique()[-3:]
    clf = CalibratedLinearSVC(cv=2)
    for classes in (first, second):
        keep = rows["opd"].isin(classes).to_numpy()
        clf.fit(x[keep], rows["opd"][keep])
        assert list(clf.classes_) == sorted(classes)
        assert np.abs(clf.predict_proba(x) - clf.calibrated_.predict_proba(x)).max() < 1e-10


def test_unions_with_weights_and_mixed_settings_equal_scikit_learns(corpus):
    """Per-vectoriser settings (sublinear counts or not, l2 or no norm, longer n-grams, stop words), union weights,
    and a vectoriser the fast path does not handle (binary counts, so the whole union is left to scikit-learn)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    docs = [*corpus["text"].tolist()[:80], "", "zzz"]
    mixed = FeatureUnion(
        [
            ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), norm=None)),
            ("longer", TfidfVectorizer(ngram_range=(2, 3), token_pattern=r"\S+")),
            ("stopped", TfidfVectorizer(stop_words=["dan", "di", "yang"], sublinear_tf=True)),
            ("dropped", "drop"),
        ],
        transformer_weights={"char": 0.3},
    ).fit(docs[:60])
    binary = FeatureUnion([("word", TfidfVectorizer(binary=True))]).fit(docs[:60])
    for fast, union in zip(transform_unions([mixed, binary], docs), [mixed, binary], strict=True):
        reference = union.transform(docs)
        assert fast.shape == reference.shape and fast.nnz == reference.nnz
        assert abs(fast - reference).max() < 1e-12
    for doc in docs[-4:]:  # one document at a time, as the service sees them, including ones with no known n-gram
        (fast,) = transform_unions([mixed], [doc])
        reference = mixed.transform([doc])
        assert fast.nnz == reference.nnz and (fast.nnz == 0 or abs(fast - reference).max() < 1e-12)


def test_calibration_folds_fitted_in_threads_match_one_at_a_time(corpus):
    """Fitting the calibration folds at once changes only the time. (liblinear shuffles with a seed per fit, so
    the weights agree to its tolerance rather than bit for bit.) Models saved before `n_jobs` existed load with
    its default."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from model.classifier import CalibratedLinearSVC

    rows = corpus.groupby("opd").head(15)
    x = TfidfVectorizer(sublinear_tf=True).fit_transform(rows["text"])
    one = CalibratedLinearSVC(cv=3, n_jobs=1).fit(x, rows["opd"])
    both = CalibratedLinearSVC(cv=3, n_jobs=2).fit(x, rows["opd"])
    assert len(both.calibrated_.calibrated_classifiers_) == 3
    assert np.abs(one.predict_proba(x) - both.predict_proba(x)).max() < 1e-3
    state = both.__getstate__()
    del state["n_jobs"]
    old = CalibratedLinearSVC.__new__(CalibratedLinearSVC)
    old.__setstate__(state)
    assert old.get_params()["n_jobs"] == -1 and (old.predict(x) == both.predict(x)).all()


def test_small_calls_run_on_the_event_loop_and_large_ones_leave_it_free():
    async def scenario():
        batcher = MicroBatcher()
        batcher.start()
        model = loaded("v1")
        few = [f"keluhan {i}" for i in range(10)]
        small = await batcher.predict(model, few)
        large = await batcher.predict(model, ["x" * (INLINE_CHARS + 1)])  # one long text is a large call too
        await batcher.stop()
        return model.model.threads, few, small, large

    threads, few, small, large = asyncio.run(scenario())
    assert small == [f"v1:{t}" for t in few] and large == ["v1:" + "x" * (INLINE_CHARS + 1)]
    assert threads[0] is threading.main_thread()  # asyncio.run's loop runs in this (the main) thread
    assert threads[1] is not threading.main_thread()


def test_an_answered_request_is_not_held_back_by_the_next_call():
    """The texts of the next call are queued while a call runs; its requests must get their answers before the
    next call takes the event loop (otherwise each waits a whole extra model call under load)."""
    events: list[str] = []
    release = threading.Event()

    class Slow(FakeModel):
        def predict(self, texts, thresholds=None):
            events.append(f"call {texts[0][0]}")
            if texts[0].startswith("x"):
                release.wait(5)  # a large call, in a worker thread: the loop meanwhile queues the next request
            return super().predict(texts, thresholds)

    async def scenario():
        batcher = MicroBatcher()
        batcher.start()
        model = SimpleNamespace(model=Slow("v1"), thresholds={})

        async def first() -> None:
            await batcher.predict(model, ["x" * (INLINE_CHARS + 1)])
            events.append("x answered")

        answered = asyncio.create_task(first())
        while "call x" not in events:
            await asyncio.sleep(0.001)
        second = asyncio.create_task(batcher.predict(model, ["short"]))
        await asyncio.sleep(0.05)  # the short request is queued behind the running call
        release.set()
        await asyncio.gather(answered, second)
        await batcher.stop()

    asyncio.run(scenario())
    assert events == ["call x", "x answered", "call s"]
