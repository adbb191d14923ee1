"""Whatever text arrives — emoji, control characters, right-to-left scripts, 100,000 characters, punctuation
only — the pipeline and the model handle it."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from model.normalize import clean, mask_identifiers
from model.preprocess import IndonesianPreprocessor

awkward = st.one_of(
    st.text(max_size=400),
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), max_size=50),  # control, format, spaces
    st.text(st.characters(categories=["P", "S"]), min_size=1, max_size=80),  # punctuation and symbols only
    st.text(st.sampled_from("مرحبا שלום \u202e\u200f🚒🔥💧😡👍🏽 jalan"), max_size=80),  # RTL, bidi marks, emoji
)


@pytest.fixture(scope="module")
def prep():
    return IndonesianPreprocessor().fit([])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=awkward)
def test_any_text_preprocesses(prep, text):
    (out,) = prep.transform([text])
    assert isinstance(out, str)


def test_a_100k_character_text_preprocesses(prep):
    text = ("Jalan rusak 🚧 di Batu Aji!!! " * 4000)[:100_000]
    (out,) = prep.transform([text])
    assert "jalan" in out


@settings(max_examples=300, deadline=None)
@given(text=awkward)
@example(text="\\N")  # a literal backslash-N: lower-cased, it reads as an escaped line break
def test_normalisation_is_idempotent(text):
    once = clean(text)
    assert clean(once) == once
    masked = mask_identifiers(text)
    assert mask_identifiers(masked) == masked


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(awkward, min_size=1, max_size=4))
def test_prediction_never_raises(store, texts):
    predictions = store[1].model.predict(texts)
    assert len(predictions) == len(texts)
    for p in predictions:
        assert 0.0 <= p.opd.probability <= 1.0 and p.urgency in ("darurat", "tinggi", "sedang", "rendah")
