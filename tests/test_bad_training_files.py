"""Malformed training files end with one clear message naming the file, the row and the reason, and leave
nothing behind: no MLflow run, no registered model."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.conftest import client_for
from training.cli import app

pytestmark = pytest.mark.slow


def corpus_rows(corpus: pd.DataFrame, n: int = 60) -> pd.DataFrame:
    # Enough valid rows that only the planted fault is wrong (min_class_count is 10 per class).
    return corpus.groupby("opd", group_keys=False).head(12)[["text", "opd", "urgency"]].head(n * 10)


def write_csv(path, frame, **kw):
    frame.to_csv(path, index=False, **kw)
    return path


CASES = {
    "latin-1 bytes": lambda tmp, c: (
        tmp / "latin1.csv",
        lambda p: p.write_bytes(
            b"text,opd,urgency\nJalan rusak parah di Batam,bina-marga-sda,sedang\n"
            + "Caf\xe9 buang sampah sembarangan,lingkungan-hidup,sedang\n".encode("latin-1")
        ),
        ["line 3", "not UTF-8"],
    ),
    "semicolons": lambda tmp, c: (
        tmp / "semi.csv",
        lambda p: write_csv(p, corpus_rows(c), sep=";"),
        ["semi.csv", "comma-separated"],
    ),
    "missing column": lambda tmp, c: (
        tmp / "nolabel.csv",
        lambda p: write_csv(p, corpus_rows(c)[["text", "urgency"]]),
        ["missing column", "opd (column 'opd')"],
    ),
    "empty file": lambda tmp, c: (tmp / "empty.csv", lambda p: p.write_bytes(b""), ["the file is empty"]),
    "header only": lambda tmp, c: (
        tmp / "header.csv",
        lambda p: p.write_text("text,opd,urgency\n"),
        ["no complaints"],
    ),
    "huge row": lambda tmp, c: (
        tmp / "huge.csv",
        lambda p: write_csv(
            p,
            pd.concat(
                [corpus_rows(c), pd.DataFrame([{"text": "banjir " * 5000, "opd": "bencana", "urgency": "tinggi"}])]
            ),
        ),
        ["more than 20000"],
    ),
    "label case and spaces": lambda tmp, c: (
        tmp / "labels.csv",
        lambda p: write_csv(
            p, corpus_rows(c).assign(opd=lambda f: f["opd"].where(f.index != f.index[4], " Dukcapil "))
        ),
        ["row 6", "stray spaces or capitals", "'dukcapil'"],
    ),
    "broken jsonl": lambda tmp, c: (
        tmp / "broken.jsonl",
        lambda p: p.write_text('{"text": "lampu mati", "opd": "perhubungan"}\n{"text": "jalan\n'),
        ["cannot be read as JSONL"],
    ),
    "not really xlsx": lambda tmp, c: (
        tmp / "fake.xlsx",
        lambda p: p.write_text("text,opd\nhalo,sosial\n"),
        ["cannot be read as XLSX"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_file_is_refused_clearly_and_leaves_nothing(case, settings, tmp_path, corpus):
    path, write, expected = CASES[case](tmp_path, corpus)
    write(path)
    result = CliRunner().invoke(app, ["train", "--data", str(path)])
    assert result.exit_code == 1, result.output
    message = " ".join(result.output.split())
    assert str(path.name) in message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    client = client_for(settings)
    assert client.search_registered_models() == []
    experiments = client.search_experiments()
    assert not client.search_runs([e.experiment_id for e in experiments]) if experiments else True
