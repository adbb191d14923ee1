"""Loading datasets in every supported format and rejecting bad data row by row."""

from __future__ import annotations

import pandas as pd
import pytest

from model.taxonomy import default_taxonomy
from training.data import Columns, DataError, load_dataset
from training.validation import drop_exact_duplicates, validate

ROWS = pd.DataFrame(
    {
        "isi": ["Jalan di Tiban berlubang", "Sampah menumpuk di TPS Bengkong", "Lampu PJU mati"],
        "dinas": ["bina-marga-sda", "lingkungan-hidup", "perhubungan"],
        "tingkat": ["sedang", "tinggi", "sedang"],
        "tanggal": ["2025-01-05", "2025-02-11", "2025-03-20"],
    }
)
MAPPING = Columns(text="isi", opd="dinas", urgency="tingkat", date="tanggal")


def write(frame: pd.DataFrame, path) -> None:
    suffix = path.suffix
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    elif suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_excel(path, index=False)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet", ".xlsx"])
def test_every_format_loads_to_the_same_canonical_frame(tmp_path, suffix):
    path = tmp_path / f"keluhan{suffix}"
    write(ROWS, path)
    frame = load_dataset(path, MAPPING)
    assert list(frame.columns) == ["row", "text", "opd", "urgency", "date"]
    assert frame["text"].tolist() == ROWS["isi"].tolist()
    assert frame["opd"].tolist() == ROWS["dinas"].tolist()
    # Row numbers are what a person sees: spreadsheet rows (header is row 1) or JSONL lines.
    first = {".csv": 2, ".xlsx": 2, ".jsonl": 1, ".parquet": 1}[suffix]
    assert frame["row"].tolist() == [first, first + 1, first + 2]


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "x.csv"
    write(ROWS, path)
    with pytest.raises(DataError, match=r"opd \(column 'opd'\)"):
        load_dataset(path, Columns(text="isi", opd="opd"))


def test_absent_urgency_column_is_optional(tmp_path):
    path = tmp_path / "x.csv"
    write(ROWS.drop(columns="tingkat"), path)
    frame = load_dataset(path, MAPPING)
    assert "urgency" not in frame.columns


def test_unknown_format_is_rejected(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("hello")
    with pytest.raises(DataError, match="unsupported format"):
        load_dataset(path)


def canonical(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["text", "opd", "urgency", "date"][: len(rows[0])])
    frame.insert(0, "row", range(2, 2 + len(frame)))
    return frame


def test_every_problem_is_reported_with_its_row():
    frame = canonical(
        [
            ("Jalan rusak parah", "bina-marga-sda", "sedang"),  # row 2: fine
            ("   ", "bina-marga-sda", "sedang"),  # row 3: blank text
            ("Air mati dua hari", "air-bersi", "tinggi"),  # row 4: typo in code
            ("Jalan rusak parah", "bina-marga-sda", "sedang"),  # row 5: exact duplicate of 2
            ("Jalan rusak parah", "perhubungan", "sedang"),  # row 6: conflicting labels
            ("Pohon tumbang", "lingkungan-hidup", "genting"),  # row 7: unknown urgency
        ]
    )
    problems = [str(p) for p in validate(frame, default_taxonomy())]
    assert "row 3 text: text is empty or whitespace only" in problems
    assert any(p.startswith("row 4 opd:") and "did you mean 'air-bersih'" in p for p in problems)
    assert "row 5 text: exact duplicate of row 2" in problems
    assert any(p.startswith("row 6 text: same text as row 2 but conflicting labels") for p in problems)
    assert any(p.startswith("row 7 urgency: urgency label 'genting'") for p in problems)
    assert not any(p.startswith("row 2 ") for p in problems)


def test_small_classes_are_reported():
    frame = canonical(
        [(f"jalan rusak nomor {i}", "bina-marga-sda", "sedang") for i in range(5)]
        + [("lampu mati", "perhubungan", "sedang")]
    )
    problems = [str(p) for p in validate(frame, default_taxonomy(), min_class_count=3)]
    assert problems == ["opd: class 'perhubungan' has 1 example(s), fewer than the minimum 3"]


def test_bad_dates_are_reported():
    frame = canonical(
        [
            ("jalan rusak", "bina-marga-sda", "sedang", "2025-01-01"),
            ("lampu mati", "perhubungan", "sedang", "kemarin sore"),
        ]
    )
    assert [str(p) for p in validate(frame, default_taxonomy())] == ["row 3 date: date 'kemarin sore' is not a date"]


def test_drop_duplicates_keeps_first_and_leaves_conflicts():
    frame = canonical(
        [
            ("a b c", "bina-marga-sda", "sedang"),
            (" a b c ", "bina-marga-sda", "sedang"),
            ("a b c", "perhubungan", "sedang"),
        ]
    )
    kept, dropped = drop_exact_duplicates(frame)
    assert dropped == 1 and kept["row"].tolist() == [2, 4]
    assert "conflicting labels" in str(validate(kept, default_taxonomy())[0])


def test_bundled_corpus_is_valid_and_meets_the_data_card(corpus):
    assert {"id", "text", "opd", "urgency", "created_at"} <= set(corpus.columns)
    assert corpus["id"].is_unique
    frame = corpus[["text", "opd", "urgency"]].assign(row=range(2, 2 + len(corpus)))
    assert validate(frame, default_taxonomy(), min_class_count=60) == []
    assert len(frame) >= 2400
    assert set(frame["opd"]) == set(default_taxonomy().codes)
    assert (frame["urgency"] == "darurat").sum() >= 150
