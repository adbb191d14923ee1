"""Linear SVM with calibrated probabilities that copes with small classes."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV, _SigmoidCalibration
from sklearn.isotonic import IsotonicRegression
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
        """The same probabilities as `CalibratedClassifierCV.predict_proba`, computed directly from the fold
        models' weights and calibration maps: scikit-learn's per-call input checks cost about 5 ms per
        request (5 folds x 23 calibrators), far more than the arithmetic."""
        check_is_fitted(self, "calibrated_")
        if len(self.classes_) < 3 or not sp.issparse(X):
            return self.calibrated_.predict_proba(X)
        folds = self.calibrated_.calibrated_classifiers_
        total = np.zeros((X.shape[0], len(self.classes_)))
        for fold in folds:
            scores = np.asarray(X @ fold.estimator.coef_.T) + fold.estimator.intercept_
            columns = np.searchsorted(self.classes_, fold.estimator.classes_)
            proba = np.zeros_like(total)
            for column, score, calibrator in zip(columns, scores.T, fold.calibrators, strict=True):
                proba[:, column] = _calibrated(calibrator, score)
            sums = proba.sum(axis=1, keepdims=True)
            total += np.divide(proba, sums, out=np.full_like(proba, 1 / len(self.classes_)), where=sums != 0)
        total /= len(folds)
        total[(total > 1.0) & (total <= 1.0 + 1e-5)] = 1.0
        return total

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    @property
    def coef_(self) -> np.ndarray:
        """Mean weights of the per-fold linear models: the direction the calibrated probabilities follow."""
        check_is_fitted(self, "calibrated_")
        return np.mean([c.estimator.coef_ for c in self.calibrated_.calibrated_classifiers_], axis=0)


def _calibrated(calibrator, score: np.ndarray) -> np.ndarray:
    """`calibrator.predict(score)` without the input validation (isotonic with clipping, or Platt sigmoid)."""
    if isinstance(calibrator, IsotonicRegression) and calibrator.out_of_bounds == "clip":
        return np.interp(score, calibrator.X_thresholds_, calibrator.y_thresholds_)
    if isinstance(calibrator, _SigmoidCalibration):
        return expit(-(calibrator.a_ * score + calibrator.b_))
    return calibrator.predict(score)
