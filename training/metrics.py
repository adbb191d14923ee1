"""Evaluation of a `TriageModel` on labelled data: the figures we log, gate on and report."""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")  # headless: figures are only ever written to files
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    accuracy_score,
    classification_report,
    cohen_kappa_score,
    f1_score,
    recall_score,
)

from model.predictor import TriageModel
from model.taxonomy import URGENCY_LEVELS


@dataclass
class Evaluation:
    metrics: dict  # nested: {"n": .., "opd": {...}, "urgency": {...}}
    reports: dict[str, str] = field(default_factory=dict)  # head -> classification report text
    figures: dict[str, plt.Figure] = field(default_factory=dict)  # file name -> confusion matrix

    def flat(self) -> dict[str, float]:
        """Metrics as flat MLflow-friendly names: opd_accuracy, opd_f1_bina-marga-sda, ..."""
        out = {"n": float(self.metrics["n"])}
        for head in ("opd", "urgency"):
            for key, value in self.metrics.get(head, {}).items():
                if isinstance(value, dict):
                    out.update({f"{head}_{key}_{k}": float(v) for k, v in value.items()})
                elif key != "n":
                    out[f"{head}_{key}"] = float(value)
        return out


def opd_metrics(y_true: list[str], proba: np.ndarray, classes: list[str]) -> dict:
    order = np.argsort(-proba, axis=1)
    classes_arr = np.asarray(classes)
    y_pred = classes_arr[order[:, 0]]
    top3 = [t in classes_arr[o[:3]] for t, o in zip(y_true, order, strict=True)]
    present = sorted(set(y_true))  # macro over the classes the data has, so absent classes don't count as 0
    per_class = f1_score(y_true, y_pred, labels=present, average=None, zero_division=0)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "top3": float(np.mean(top3)),
        "f1": {c: float(f) for c, f in zip(present, per_class, strict=True)},
    }


def urgency_metrics(y_true: list[str], y_pred: list[str]) -> dict:
    rank = {level: i for i, level in enumerate(URGENCY_LEVELS)}
    present = [level for level in URGENCY_LEVELS if level in set(y_true)]
    return {
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "darurat_recall": float(recall_score(y_true, y_pred, labels=["darurat"], average="macro", zero_division=0)),
        "qwk": float(cohen_kappa_score([rank[t] for t in y_true], [rank[p] for p in y_pred], weights="quadratic")),
    }


def _confusion_figure(y_true: list[str], y_pred: list[str], labels: list[str], title: str) -> plt.Figure:
    size = max(6, 0.45 * len(labels))
    fig, ax = plt.subplots(figsize=(size, size))
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=labels, ax=ax, xticks_rotation="vertical", colorbar=False
    )
    ax.set_title(title)
    fig.tight_layout()
    return fig


def evaluate(
    model: TriageModel,
    texts: list[str],
    opd: list[str] | None,
    urgency: list[str] | None = None,
    *,
    with_artifacts: bool = False,
) -> Evaluation:
    """Score the model; heads without labels are skipped. `with_artifacts` adds reports and figures."""
    opd_proba, urg_proba = model.predict_proba(texts)
    result = Evaluation(metrics={"n": len(texts)})
    if opd is not None:
        result.metrics["opd"] = opd_metrics(opd, opd_proba, model.opd_classes)
        if with_artifacts:
            y_pred = list(np.asarray(model.opd_classes)[opd_proba.argmax(axis=1)])
            labels = sorted(set(opd) | set(y_pred))
            result.reports["opd"] = classification_report(opd, y_pred, labels=labels, zero_division=0)
            result.figures["confusion_opd.png"] = _confusion_figure(opd, y_pred, labels, "OPD")
    if urgency is not None:
        # Score what users get: the learned head raised by the safety rules.
        u_pred = [level for level, _ in model.final_urgency(texts, urg_proba)]
        result.metrics["urgency"] = {"n": len(urgency), **urgency_metrics(urgency, u_pred)}
        if with_artifacts:
            labels = list(URGENCY_LEVELS)
            result.reports["urgency"] = classification_report(urgency, u_pred, labels=labels, zero_division=0)
            result.figures["confusion_urgency.png"] = _confusion_figure(urgency, u_pred, labels, "Urgency")
    return result
