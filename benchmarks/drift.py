"""How much of the quality benchmark's gap to its OPD targets is time, not the model.

The same OPD pipeline (`training/params.yaml`), scored on the same test complaints as `make bench-quality`
(Surabaya, 2022-10-01 on), trained three ways:

- once, on the complaints before the test months: the benchmark's own protocol;
- retrained every N days on everything labelled before each period, as a city feeding its staff's
  corrections back would (each prediction still comes from a model that saw only earlier complaints);
- on random folds of the whole year, so that complaints from the test months, later ones included, are in
  training. No deployment can have that. The training folds are cut to the size of the first row's training
  set, so that only *which* complaints are learned from differs, not how many.

Writes `benchmarks/out/drift.md`. No figure here is a target: this explains them.

    make bench-drift            # or: python -m benchmarks.drift --help
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from sklearn.model_selection import StratifiedKFold

from benchmarks.quality import OUT, SPLIT_DATE, load_real
from model.pipeline import build_head
from training.metrics import opd_metrics
from training.settings import get_settings
from training.train import load_params


def retraining_periods(
    dates: pd.Series, start: pd.Timestamp, every_days: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(training rows, test rows) for each period of `every_days` from `start`: a period's complaints are
    predicted by a model trained on every complaint dated before the period began."""
    dates = dates.reset_index(drop=True)  # positions, not index labels, are what the caller gets back
    cut, last = start, dates.max()
    while cut <= last:
        end = cut + pd.Timedelta(days=every_days)
        tested = np.flatnonzero((dates >= cut) & (dates < end))
        if len(tested):
            yield np.flatnonzero(dates < cut), tested
        cut = end


def random_folds(
    labels: np.ndarray, folds: int, train_size: int, seed: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Stratified random folds of all the rows, each training side subsampled to `train_size` rows."""
    counts = pd.Series(labels).value_counts()
    # Codes too rare to stratify join the commonest code's stratum, so every stratum fills every fold.
    strata = np.where(pd.Series(labels).map(counts).to_numpy() >= folds, labels, counts.index[0])
    rng = np.random.default_rng(seed)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for trained, tested in splitter.split(np.zeros(len(labels)), strata):
        yield np.sort(rng.choice(trained, size=min(train_size, len(trained)), replace=False)), tested


def _predict(
    params: dict, texts: list[str], labels: np.ndarray, splits: Iterable[tuple[np.ndarray, np.ndarray]], classes: list
) -> np.ndarray:
    """Probabilities over `classes` for every row some split tests (zero rows elsewhere)."""
    proba = np.zeros((len(texts), len(classes)))
    column = {code: i for i, code in enumerate(classes)}
    for trained, tested in splits:
        head = build_head(**params).fit([texts[i] for i in trained], labels[trained])
        cols = [column[c] for c in head.classes_]
        proba[np.ix_(tested, cols)] = head.predict_proba([texts[i] for i in tested])
    return proba


def render(rows: list[tuple[str, dict]], n_test: int) -> str:
    lines = [
        f"## OPD routing of the test months (n = {n_test}), by what the model was trained on",
        "",
        "| trained on | top-1 | macro-F1 | top-3 |",
        "|---|---|---|---|",
    ]
    lines += [f"| {name} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | {m['top3']:.3f} |" for name, m in rows]
    return "\n".join(lines) + "\n"


def main(
    datasets: Annotated[
        Path | None,
        typer.Option(help="Folder with surabaya-2022.csv (default: TRIASE_SHARED_DATASETS)."),
    ] = None,
    every: Annotated[list[int], typer.Option(help="Retraining period in days (repeat the option).")] = [30, 7],  # noqa: B006
    folds: Annotated[int, typer.Option(help="Random folds of the whole year.")] = 5,
) -> None:
    frame = load_real(datasets or get_settings().shared_datasets)
    if frame is None:
        return
    started = time.perf_counter()
    params = load_params()["opd"]
    texts, labels = frame["text"].tolist(), frame["opd"].to_numpy()
    classes = sorted(set(labels))
    start = pd.Timestamp(SPLIT_DATE)
    before, test = np.flatnonzero(frame["date"] < start), np.flatnonzero(frame["date"] >= start)
    n_before = len(before)

    def scored(proba: np.ndarray) -> dict:
        return opd_metrics(labels[test].tolist(), proba[test], classes)

    trainings = [
        (f"once, on the {n_before} complaints before {SPLIT_DATE} (the benchmark)", [(before, test)]),
        *[
            (f"retrained every {days} days on all complaints before", retraining_periods(frame["date"], start, days))
            for days in every
        ],
        (
            f"random {folds} folds of the year, {n_before} complaints each (the test months' own among them)",
            random_folds(labels, folds, n_before),
        ),
    ]
    rows = []
    for name, splits in trainings:
        rows.append((name, scored(_predict(params, texts, labels, splits, classes))))
        print(f"{name}: top-1 {rows[-1][1]['accuracy']:.3f}", flush=True)

    table = render(rows, len(test))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "drift.md").write_text(table, encoding="utf-8")
    print()
    print(table)
    print(f"written {OUT / 'drift.md'} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    typer.run(main)
