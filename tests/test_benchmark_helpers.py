"""The quality benchmark's own arithmetic: calibration error and the met/not-met verdicts."""

from __future__ import annotations

import numpy as np

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
