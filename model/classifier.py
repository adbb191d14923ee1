"""Linear SVM with calibrated probabilities that copes with small classes."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted


class CalibratedLinearSVC(ClassifierMixin, BaseEstimator):
    """`LinearSVC` calibrated by cross-validation (`CalibratedClassifierCV`).

    Real exports have classes with a handful of examples; the number of calibration folds shrinks to the
    smallest class (at least 2) instead of failing.
    """

    def __init__(self, C: float = 0.5, class_weight: str | None = "balanced", method: str = "sigmoid", cv: int = 5):
        self.C = C
        self.class_weight = class_weight
        self.method = method
        self.cv = cv

    def fit(self, X, y, sample_weight=None) -> CalibratedLinearSVC:
        smallest = int(np.unique(np.asarray(y), return_counts=True)[1].min())
        folds = max(2, min(self.cv, smallest))
        base = LinearSVC(C=self.C, class_weight=self.class_weight)
        self.calibrated_ = CalibratedClassifierCV(base, method=self.method, cv=folds).fit(
            X, y, sample_weight=sample_weight
        )
        self.classes_ = self.calibrated_.classes_
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "calibrated_")
        return self.calibrated_.predict_proba(X)

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    @property
    def coef_(self) -> np.ndarray:
        """Mean weights of the per-fold linear models: the direction the calibrated probabilities follow."""
        check_is_fitted(self, "calibrated_")
        return np.mean([c.estimator.coef_ for c in self.calibrated_.calibrated_classifiers_], axis=0)
