"""Normalisation, stopwords and stemming: what must survive preprocessing and what must change."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.lexicon import MUST_KEEP, load_lexicon
from model.normalize import clean, stem_word
from model.preprocess import IndonesianPreprocessor


@pytest.fixture(scope="module")
def prep() -> IndonesianPreprocessor:
    return IndonesianPreprocessor().fit([])


def terms(prep: IndonesianPreprocessor, text: str) -> list[str]:
    return prep.transform([text])[0].split()


@pytest.mark.parametrize(
    ("informal", "standard"),
    [
        ("gak", "tidak"),
        ("nggak", "tidak"),
        ("gk", "tidak"),
        ("tdk", "tidak"),
        ("blm", "belum"),
        ("jln", "jalan"),
        ("jl", "jalan"),
        ("dgn", "dengan"),
        ("sdh", "sudah"),
        ("udh", "sudah"),
        ("krn", "karena"),
        ("yg", "yang"),
    ],
)
def test_slang_map_has_the_common_forms(informal, standard):
    assert load_lexicon().slang[informal] == standard


def test_slang_is_normalised_in_context(prep):
    out = terms(prep, "lampu jln gk nyala udh 3 hari, blm ada yg dtg")
    assert "jalan" in out and "tidak" in out and "belum" in out
    assert not {"jln", "gk", "blm", "yg", "udh"} & set(out)


def test_lexicon_is_large_and_keeps_negations_and_urgency_cues():
    lexicon = load_lexicon()
    assert len(lexicon.slang) >= 300
    assert not MUST_KEEP & lexicon.stopwords
    assert "yang" in lexicon.stopwords  # the list does remove function words


@pytest.mark.parametrize("cue", ["tidak", "belum", "bukan", "jangan", "tanpa", "segera", "darurat", "bahaya"])
def test_negation_and_urgency_cues_survive_preprocessing(prep, cue):
    assert cue in terms(prep, f"warga bilang {cue} ada petugas yang datang ke lokasi")


def test_negation_survives_in_slang_form(prep):
    assert terms(prep, "air ga ngalir")[1] == "tidak"


@pytest.mark.parametrize("word", ["bekasi", "bali", "sekupang", "nongsa", "batam", "pju", "pdam", "bpjs", "rsud"])
def test_protected_words_are_not_stemmed(prep, word):
    assert word in terms(prep, f"keluhan warga {word} soal layanan")


def test_protection_is_needed_for_place_names():
    # Without the protected list Sastrawi mangles these: the test above would otherwise pass vacuously.
    assert stem_word("bekasi") != "bekasi" and stem_word("bali") != "bali" and stem_word("sekupang") != "sekupang"


def test_stemming_applies_to_ordinary_words(prep):
    assert terms(prep, "perbaikan jalan berlubang") == ["baik", "jalan", "lubang"]


def test_elongated_letters_collapse(prep):
    assert terms(prep, "lampu matiii tolongg") == ["lampu", "mati", "tolong"]


@pytest.mark.parametrize(
    ("text", "placeholder"),
    [
        ("hubungi 0812-7654-3210", "_telepon_"),
        ("wa +62 813 1234 5678", "_telepon_"),
        ("nik 2171012345678901", "_nik_"),
        ("email warga@contoh.com", "_email_"),
        ("lihat https://contoh.go.id/lapor?id=1", "_url_"),
        ("no pelanggan 00123456", "_nomor_"),
        ("dari data <TELEPON> dan <NIK>", "_telepon_"),
    ],
)
def test_identifiers_become_placeholders(text, placeholder):
    assert placeholder in clean(text).split()


def test_single_string_is_rejected(prep):
    with pytest.raises(TypeError, match="single string"):
        prep.transform("jalan rusak")


def test_non_text_item_is_rejected_with_its_position(prep):
    with pytest.raises(TypeError, match="position 1"):
        prep.transform(["jalan rusak", None])


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_text_yields_lowercase_terms_without_long_digit_runs(text):
    out = IndonesianPreprocessor().fit([]).transform([text])[0]
    assert out == out.lower()
    assert not re.search(r"\d{5,}", out)


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"08[1-9]\d{2}-?\d{3,4}-?\d{3,4}", fullmatch=True))
def test_phone_numbers_never_survive(phone):
    assert "_telepon_" in clean(f"tolong hubungi saya di {phone} ya")
