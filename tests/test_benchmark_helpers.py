"""The quality benchmarks' own arithmetic: calibration error, the met/not-met verdicts, the drift splits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.drift import random_folds, retraining_periods
from benchmarks.quality import expected_calibration_error, render


def test_ece_is_zero_when_confidence_matches_accuracy():
    confidence = np.full(1000, 0.8)
    correct = np.arange(1000) < 800
    assert expected_calibration_error(confidence, correct) < 1e-12


def test_ece_measures_overconfidence():
    confidence = np.full(1000, 0.9)
    correct = np.arange(1000) < 600
    assert abs(expected_calibration_error(confidence, correct) - 0.3) < 1e-9


def test_render_states_targets_met_or_not():
    triase = {"top1": 0.8, "macro_f1": 0.5, "top3": 0.96, "ece": 0.04, "coverage": 0.5, "covered_precision": 0.97}
    table = render({"top1": 0.74, "macro_f1": 0.49, "top3": 0.9}, triase, {}, 100, 0.95)
    assert "| top-1 accuracy | 0.740 | 0.800 | ≥ 0.79 met |" in table
    assert "| macro-F1 | 0.490 | 0.500 | ≥ 0.62 NOT met |" in table
    assert "| ECE (15 bins) | n/a | 0.040 | ≤ 0.05 met |" in table


def test_retraining_never_trains_on_the_period_it_predicts_or_later():
    dates = pd.Series(pd.to_datetime(["2022-09-20", "2022-10-03", "2022-09-30", "2022-10-09", "2022-10-20"]))
    periods = list(retraining_periods(dates, pd.Timestamp("2022-10-01"), every_days=7))
    tested = np.concatenate([t for _, t in periods])
    assert sorted(tested) == [1, 3, 4]  # every row from the start on, once
    for trained, tested in periods:
        assert dates[trained].max() < dates[tested].min()
    assert [list(t) for t, _ in periods] == [[0, 2], [0, 1, 2], [0, 1, 2, 3]]  # everything earlier each time


def test_random_folds_test_every_row_once_and_cap_the_training_side():
    labels = np.array(["a"] * 30 + ["b"] * 18 + ["c"] * 2)  # "c" too rare to stratify on its own
    folds = list(random_folds(labels, folds=5, train_size=25))
    assert sorted(np.concatenate([t for _, t in folds])) == list(range(50))
    for trained, tested in folds:
        assert len(trained) == 25 and not set(trained) & set(tested)
