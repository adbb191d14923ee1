"""Urgency safety rules, auto-route thresholds and explanations."""

from __future__ import annotations

import numpy as np
import pytest

from model.abstention import ValidationSet
from model.lexicon import load_lexicon
from model.normalize import tokenize
from model.rules import load_rules


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def words(text: str) -> list[str]:
    return [t.term for t in tokenize(text, load_lexicon(), stem=False, drop_stopwords=False)]


def fired(rules, text: str) -> set[str]:
    return {f.rule for f in rules.fire(words(text))}


def test_casualty_rule_fires_and_respects_negation(rules):
    assert "korban-jiwa" in fired(rules, "Ada warga pingsan di depan pasar")
    assert "korban-jiwa" not in fired(rules, "untung tidak ada korban jiwa dalam kejadian itu")
    assert "korban-jiwa" not in fired(rules, "alhamdulillah gak ada korban jiwa")  # slang negation too


def test_unless_phrase_cancels_a_rule(rules):
    assert "api-asap-gas" in fired(rules, "ada kebakaran rumah di tiban")
    assert "api-asap-gas" not in fired(rules, "ada kebakaran semalam tapi sudah padam, mohon bantuan untuk korban")


def test_worry_is_not_an_emergency(rules):
    assert "bangunan-pohon-tiang-roboh" in fired(rules, "pohon besar di depan sekolah hampir roboh")
    worried = rules.fire(words("pohonnya rimbun, warga takut hampir roboh kalau hujan"))
    assert "darurat" not in {f.raise_to for f in worried}


def test_worry_about_a_fall_is_a_hazard_to_fix(rules):
    firings = rules.fire(words("pohon besar condong ke rumah lansia, kami takut roboh menimpa rumah"))
    assert {(f.rule, f.raise_to) for f in firings} == {("bangunan-pohon-tiang-roboh", "tinggi")}
    assert rules.apply("sedang", firings) == "tinggi"
    # a plain mention beside a worried one still raises to darurat
    plain = rules.fire(words("takut roboh dari kemarin, sekarang pohon roboh menimpa rumah warga"))
    assert rules.apply("sedang", plain) == "darurat"


def test_tinggi_situations_of_the_guideline(rules):
    assert rules.apply("sedang", rules.fire(words("kalau hujan jalan depan rumah selalu banjir"))) == "tinggi"
    assert rules.apply("sedang", rules.fire(words("lubang itu sangat membahayakan pengguna jalan"))) == "tinggi"
    assert rules.apply("sedang", rules.fire(words("sudah tiga bulan kami tidak digaji"))) == "tinggi"
    assert rules.apply("sedang", rules.fire(words("jalannya tidak membahayakan, cuma kotor"))) == "sedang"
    assert rules.apply("sedang", rules.fire(words("ada ular di semak belakang rumah"))) == "tinggi"
    assert rules.apply("sedang", rules.fire(words("tolong ada ular masuk ke kamar anak"))) == "darurat"
    assert rules.apply("sedang", rules.fire(words("tikungan ini rawan kecelakaan kalau malam"))) == "tinggi"
    assert rules.apply("sedang", rules.fire(words("tutup got hilang depan sekolah, anak bisa jatuh"))) == "tinggi"
    assert rules.apply("sedang", rules.fire(words("pohon angsana depan rumah sudah keropos batangnya"))) == "tinggi"
    assert rules.apply("sedang", rules.fire(words("tlg potong batang yg lapuk itu"))) == "tinggi"
    assert rules.apply("sedang", rules.fire(words("ada tutup got yg hilang dkt perempatan"))) == "tinggi"
    assert rules.apply("sedang", rules.fire(words("dahan pohon mengenai kabel listrik di gang kami"))) == "tinggi"
    assert rules.apply("sedang", rules.fire(words("jalan gelap, minggu lalu ada pembegalan di situ"))) == "tinggi"
    assert rules.apply("sedang", rules.fire(words("pohon besar dan rindang, kami takut roboh"))) == "sedang"


def test_sunken_paving_alone_is_minor_road_damage(rules):
    assert rules.fire(words("paving di depan rumah ambles sedikit, mohon diperbaiki")) == []
    assert rules.apply("sedang", rules.fire(words("aspal amblas dan sangat membahayakan pemotor"))) == "tinggi"


def test_mentions_that_are_not_emergencies(rules):
    assert rules.fire(words("gang sempit, mobil pemadam kebakaran tidak bisa masuk")) == []
    assert rules.fire(words("ayah saya meninggal dunia, mohon bantu urus pensiun ibu")) == []
    assert rules.fire(words("mohon segera ditutup untuk menghindari korban jiwa")) == []


def test_rules_only_raise(rules):
    firings = rules.fire(words("pohon tumbang menimpa rumah warga"))
    assert rules.apply("rendah", firings) == "darurat"
    assert rules.apply("darurat", rules.fire(words("mohon info jadwal posyandu"))) == "darurat"
    assert rules.apply("tinggi", rules.fire(words("mohon info jadwal posyandu"))) == "tinggi"
    assert rules.apply("darurat", rules.fire(words("air mati dua hari"))) == "darurat"  # a lower rule never lowers


def test_thresholds_reach_target_precision_on_validation():
    rng = np.random.default_rng(0)
    n = 2000
    confidence = rng.uniform(0.3, 1.0, n)
    correct = rng.uniform(size=n) < confidence  # better calibrated the higher the confidence
    predicted = np.where(rng.uniform(size=n) < 0.5, "a", "b")
    validation = ValidationSet(predicted, confidence, correct)
    thresholds = validation.thresholds(0.9)
    for cls, t in thresholds.items():
        routed = (predicted == cls) & (confidence >= t)
        assert correct[routed].mean() >= 0.9
        lower = (predicted == cls) & (confidence >= t - 0.05)
        assert correct[lower].mean() < 0.9 or t <= 0.35  # the lowest threshold that works, not just any
    assert validation.thresholds(0.999)["a"] > thresholds["a"]


def test_unreachable_target_means_always_review():
    validation = ValidationSet(np.array(["a"] * 10), np.linspace(0.5, 0.9, 10), np.zeros(10, dtype=bool))
    assert validation.thresholds(0.95) == {"a": 1.0}


def test_prediction_flags_and_explains(store):
    _, result = store
    model = result.model
    clear, gibberish, emergency = model.predict(
        [
            "Lampu PJU di depan Masjid Raya Batam Centre mati sudah seminggu, jalan gelap gulita",
            "qwrt zxcv plmk",
            "tdk ada korban tp pohon tumbang menimpa rumah warga di Sekupang",
        ]
    )
    assert clear.opd.code == "perhubungan"
    assert {"pju", "lampu"} & {e["word"] for e in clear.explanation["opd"]}
    assert all(e["weight"] > 0 for e in clear.explanation["opd"])
    assert gibberish.needs_review and "out_of_vocabulary" in gibberish.review_reasons
    assert emergency.urgency == "darurat" and "emergency_rule" in emergency.review_reasons
    assert "bangunan-pohon-tiang-roboh" in [f["rule"] for f in emergency.urgency_rules]  # "menimpa rumah"


def test_explanations_show_the_words_as_written_not_stems(store):
    _, result = store
    [prediction] = result.model.predict(["aspalnya berlubang parah, motor sering jatuh"])
    by_term = {e["term"]: e["word"] for e in prediction.explanation["opd"]}
    assert by_term.get("lubang") == "berlubang"


def test_serving_time_target_changes_thresholds(store):
    _, result = store
    model = result.model
    strict, loose = model.thresholds_for(0.99), model.thresholds_for(0.80)
    assert all(strict[c] >= loose[c] for c in strict)
    text = ["jalan di batu aji rusak"]
    assert len(model.predict(text, target_precision=0.5)) == 1
