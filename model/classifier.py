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
        """The same probabilities as `CalibratedClassifierCV.predict_proba` (to within 1e-12), computed directly
        from each fold's weights and calibration maps: scikit-learn's per-call input checks and per-class
        calibrator calls cost several milliseconds per request (5 folds x 23 classes), far more than the
        arithmetic."""
        check_is_fitted(self, "calibrated_")
        if len(self.classes_) < 3 or not sp.issparse(X):
            return self.calibrated_.predict_proba(X)
        if getattr(self, "_maps", None) is None:
            self._maps = [_FoldMap(fold, self.classes_) for fold in self.calibrated_.calibrated_classifiers_]
        total = np.zeros((X.shape[0], len(self.classes_)))
        for fold in self._maps:
            proba = fold.proba(X, len(self.classes_))
            sums = proba.sum(axis=1, keepdims=True)
            total += np.divide(proba, sums, out=np.full_like(proba, 1 / len(self.classes_)), where=sums != 0)
        total /= len(self._maps)
        total[(total > 1.0) & (total <= 1.0 + 1e-5)] = 1.0
        return total

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_maps", None)  # rebuilt on first use; saving it would store every fold's weights twice
        return state

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    @property
    def coef_(self) -> np.ndarray:
        """Mean weights of the per-fold linear models: the direction the calibrated probabilities follow."""
        check_is_fitted(self, "calibrated_")
        return np.mean([c.estimator.coef_ for c in self.calibrated_.calibrated_classifiers_], axis=0)


class _FoldMap:
    """One calibrated fold as plain arrays: weights, and all its per-class calibration maps in one lookup."""

    def __init__(self, fold, classes: np.ndarray):
        self.coef = fold.estimator.coef_
        self.intercept = fold.estimator.intercept_
        self.columns = np.searchsorted(classes, fold.estimator.classes_)
        calibrators = fold.calibrators
        self.kind = "other"
        if all(isinstance(c, IsotonicRegression) and c.out_of_bounds == "clip" for c in calibrators):
            # Class k's thresholds are shifted by k * span, so one np.interp serves every class; each score is
            # clipped to its own class's range first, so no interpolation crosses from one class to the next.
            xs = [c.X_thresholds_ for c in calibrators]
            self.low = np.array([x[0] for x in xs])
            self.high = np.array([x[-1] for x in xs])
            span = float(max(self.high) - min(self.low)) + 1.0
            self.offset = np.arange(len(xs)) * span
            self.x = np.concatenate([x + o for x, o in zip(xs, self.offset, strict=True)])
            self.y = np.concatenate([c.y_thresholds_ for c in calibrators])
            self.kind = "isotonic"
        elif all(isinstance(c, _SigmoidCalibration) for c in calibrators):
            self.a = np.array([c.a_ for c in calibrators])
            self.b = np.array([c.b_ for c in calibrators])
            self.kind = "sigmoid"
        self.calibrators = calibrators

    def proba(self, X, n_classes: int) -> np.ndarray:
        scores = np.asarray(X @ self.coef.T) + self.intercept
        if self.kind == "isotonic":
            calibrated = np.interp(np.clip(scores, self.low, self.high) + self.offset, self.x, self.y)
        elif self.kind == "sigmoid":
            calibrated = expit(-(self.a * scores + self.b))
        else:
            calibrated = np.column_stack([c.predict(s) for c, s in zip(self.calibrators, scores.T, strict=True)])
        proba = np.zeros((X.shape[0], n_classes))
        proba[:, self.columns] = calibrated
        return proba
