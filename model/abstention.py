"""Per-class confidence thresholds for auto-routing, chosen on validation predictions.

The validation predictions themselves travel with the model, so thresholds for another target precision
can be derived at serving time without the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ValidationSet:
    """Out-of-sample top-1 predictions: predicted class, its probability, and whether it was right."""

    predicted: np.ndarray
    confidence: np.ndarray
    correct: np.ndarray

    @classmethod
    def from_proba(cls, y_true: list[str], proba: np.ndarray, classes: list[str]) -> ValidationSet:
        predicted = np.asarray(classes)[proba.argmax(axis=1)]
        return cls(predicted, proba.max(axis=1), predicted == np.asarray(y_true))

    def thresholds(self, target_precision: float, min_support: int = 5) -> dict[str, float]:
        """For each class, the lowest threshold whose auto-routed share reaches `target_precision`.

        A class with too few validation predictions gets the threshold of all classes pooled; a class
        (or pool) that never reaches the target gets 1.0, i.e. always goes to a person.
        """
        pooled = _lowest_threshold(self.confidence, self.correct, target_precision, min_support)
        out = {}
        for cls in np.unique(self.predicted):
            mask = self.predicted == cls
            if mask.sum() < min_support:
                out[str(cls)] = pooled
            else:
                out[str(cls)] = _lowest_threshold(
                    self.confidence[mask], self.correct[mask], target_precision, min_support
                )
        return out


def _lowest_threshold(confidence: np.ndarray, correct: np.ndarray, target: float, min_support: int) -> float:
    order = np.argsort(-confidence)
    conf, hits = confidence[order], correct[order].astype(float)
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)  # precision of routing everything >= conf[i]
    ok = np.flatnonzero((precision >= target) & (np.arange(1, len(hits) + 1) >= min_support))
    return float(conf[ok[-1]]) if len(ok) else 1.0
