"""Real-data quality benchmark: Triase's pipeline against the plain reference, on real complaints.

Time split of `surabaya-2022.csv`: train on complaints before 2022-10-01, test on the rest. Thresholds use
only out-of-fold predictions on the training months. Urgency is measured on `urgency-dev.csv` with a model
trained on the bundled corpus, before and after the safety rules. Writes `benchmarks/out/quality.md` and
`benchmarks/out/reliability.png` and logs the run to MLflow (experiment `quality-benchmark`).

    make bench-quality            # or: python -m benchmarks.quality --help
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
import typer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import precision_score
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from model.paths import CORPUS_PATH, PROJECT_ROOT
from model.pipeline import build_head
from model.predictor import ReviewPolicy, TriageModel
from model.rules import load_rules
from model.taxonomy import default_taxonomy
from training import tracking
from training.metrics import opd_metrics, urgency_metrics
from training.settings import get_settings
from training.train import fit_with_validation, load_params, model_options

SPLIT_DATE = "2022-10-01"
OUT = PROJECT_ROOT / "benchmarks" / "out"
TARGETS = {  # metric: (target, higher is better)
    "top1": (0.79, True),
    "macro_f1": (0.62, True),
    "top3": (0.95, True),
    "ece": (0.05, False),
    "coverage": (0.60, True),
    "covered_precision": (0.95, True),
    "darurat_recall": (0.90, True),
    "darurat_precision": (0.50, True),
    "qwk": (0.60, True),
}


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def reliability_diagram(confidence: np.ndarray, correct: np.ndarray, path: Path, bins: int = 15) -> None:
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    centres = (edges[:-1] + edges[1:]) / 2
    accuracy = [correct[index == b].mean() if (index == b).any() else np.nan for b in range(bins)]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.bar(centres, accuracy, width=1 / bins, edgecolor="black", alpha=0.7, label="accuracy in bin")
    ax.set_xlabel("OPD confidence")
    ax.set_ylabel("accuracy")
    ax.set_title("Reliability, real test months")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def load_real(datasets: Path) -> pd.DataFrame | None:
    """`surabaya-2022.csv` with parsed dates, or None (saying why) when the real sets are not there."""
    real = datasets / "surabaya-2022.csv"
    if not real.is_file():
        print(f"SKIP: {real} not found; this benchmark needs the real complaint sets (TRIASE_SHARED_DATASETS).")
        return None
    frame = pd.read_csv(real, dtype=str, keep_default_na=False)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def reference_scores(train: pd.DataFrame, test: pd.DataFrame) -> dict:
    """The reference pipeline of the issue: raw text, TF-IDF (1,2)-grams, LinearSVC(C=0.5), nothing else."""
    ref = make_pipeline(TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2), LinearSVC(C=0.5))
    ref.fit(train["text"], train["opd"])
    m = opd_metrics(test["opd"].tolist(), ref.decision_function(test["text"]), list(ref.classes_))
    return {"top1": m["accuracy"], "macro_f1": m["macro_f1"], "top3": m["top3"]}


def urgency_scores(model: TriageModel, texts: list[str], truth: list[str]) -> dict[str, dict]:
    _, urg_proba = model.predict_proba(texts)
    head = model.model_urgency(urg_proba)
    ruled = [level for level, _ in model.final_urgency(texts, urg_proba)]
    out = {}
    for name, pred in (("head", head), ("head+rules", ruled)):
        m = urgency_metrics(truth, pred)
        m["darurat_precision"] = float(
            precision_score(truth, pred, labels=["darurat"], average="macro", zero_division=0)
        )
        out[name] = m
    return out


def main(
    datasets: Annotated[
        Path | None,
        typer.Option(help="Folder with surabaya-2022.csv and urgency-dev.csv (default: TRIASE_SHARED_DATASETS)."),
    ] = None,
    target_precision: Annotated[float, typer.Option(help="Precision auto-routing must reach.")] = 0.95,
    log_to_mlflow: Annotated[bool, typer.Option(help="Log the run to MLflow.")] = True,
) -> None:
    datasets = datasets or get_settings().shared_datasets
    frame = load_real(datasets)
    if frame is None:
        return
    started = time.perf_counter()
    train, test = frame[frame["date"] < SPLIT_DATE], frame[frame["date"] >= SPLIT_DATE]
    print(
        f"train {len(train)} complaints before {SPLIT_DATE}, test {len(test)} from then ({test['opd'].nunique()} codes)"
    )

    print("reference pipeline …")
    reference = reference_scores(train, test)

    print("Triase pipeline: out-of-fold predictions on the training months for thresholds …")
    params = load_params()
    x_train, y_train = train["text"].tolist(), train["opd"].tolist()
    opd_head, validation = fit_with_validation(params["opd"], x_train, y_train, cv=params["review"]["cv"])
    corpus = pd.read_csv(CORPUS_PATH, dtype=str, keep_default_na=False)
    urgency_head = build_head(**params["urgency"]).fit(corpus["text"].tolist(), corpus["urgency"].tolist())
    model = TriageModel(
        opd_head,
        urgency_head,
        default_taxonomy(),
        rules=load_rules(),
        validation=validation,
        policy=ReviewPolicy(target_precision=target_precision),
        **model_options(params),
    )

    opd_proba, _ = model.predict_proba(test["text"].tolist())
    m = opd_metrics(test["opd"].tolist(), opd_proba, model.opd_classes)
    predicted = np.asarray(model.opd_classes)[opd_proba.argmax(axis=1)]
    confidence = opd_proba.max(axis=1)
    correct = predicted == test["opd"].to_numpy()
    routed = confidence >= np.array([model.thresholds.get(c, 1.0) for c in predicted])
    triase = {
        "top1": m["accuracy"],
        "macro_f1": m["macro_f1"],
        "top3": m["top3"],
        "ece": expected_calibration_error(confidence, correct),
        "coverage": float(routed.mean()),
        "covered_precision": float(correct[routed].mean()) if routed.any() else 0.0,
    }

    urgency = {}
    dev_path = datasets / "urgency-dev.csv"
    if dev_path.is_file():
        dev = pd.read_csv(dev_path, dtype=str).merge(frame[["id", "text"]], on="id")
        urgency = urgency_scores(model, dev["text"].tolist(), dev["urgency"].tolist())
    else:
        print(f"urgency: {dev_path} not found, skipped")

    OUT.mkdir(parents=True, exist_ok=True)
    reliability_diagram(confidence, correct, OUT / "reliability.png")
    table = render(reference, triase, urgency, len(test), target_precision)
    (OUT / "quality.md").write_text(table, encoding="utf-8")
    print()
    print(table)
    print(f"written {OUT / 'quality.md'} and {OUT / 'reliability.png'} in {time.perf_counter() - started:.0f} s")

    if log_to_mlflow:
        settings = get_settings().model_copy(update={"experiment": "quality-benchmark"})
        tracking.configure(settings)
        with mlflow.start_run(run_name="bench-quality"):
            mlflow.log_params(
                {
                    "split_date": SPLIT_DATE,
                    "target_precision": target_precision,
                    **{f"opd.{k}": v for k, v in params["opd"].items()},
                }
            )
            mlflow.log_metrics({f"reference_{k}": v for k, v in reference.items()})
            mlflow.log_metrics({f"triase_{k}": v for k, v in triase.items()})
            for variant, scores in urgency.items():
                mlflow.log_metrics({f"urgency_{variant.replace('+', '_')}_{k}": v for k, v in scores.items()})
            mlflow.log_artifact(str(OUT / "quality.md"))
            mlflow.log_artifact(str(OUT / "reliability.png"))


def _status(metric: str, value: float) -> str:
    target, higher = TARGETS[metric]
    met = value >= target if higher else value <= target
    return f"{'≥' if higher else '≤'} {target:.2f} {'met' if met else 'NOT met'}"


def render(reference: dict, triase: dict, urgency: dict, n_test: int, target_precision: float) -> str:
    rows = [
        f"## OPD routing on real complaints (test months, n = {n_test})",
        "",
        "| metric | reference | Triase | target |",
        "|---|---|---|---|",
    ]
    names = {
        "top1": "top-1 accuracy",
        "macro_f1": "macro-F1",
        "top3": "top-3 accuracy",
        "ece": "ECE (15 bins)",
        "coverage": f"auto-route coverage @ {target_precision:.2f}",
        "covered_precision": "precision of auto-routed",
    }
    for key, label in names.items():
        ref = f"{reference[key]:.3f}" if key in reference else "n/a"
        rows.append(f"| {label} | {ref} | {triase[key]:.3f} | {_status(key, triase[key])} |")
    if urgency:
        rows += [
            "",
            "## Urgency on urgency-dev (model trained on the bundled corpus)",
            "",
            "| metric | learned head | head + safety rules | target |",
            "|---|---|---|---|",
        ]
        for key, label in (
            ("darurat_recall", "darurat recall"),
            ("darurat_precision", "darurat precision"),
            ("qwk", "quadratic-weighted kappa"),
            ("macro_f1", "macro-F1"),
        ):
            head, ruled = urgency["head"][key], urgency["head+rules"][key]
            target = "reported" if key == "macro_f1" else _status(key, ruled)
            rows.append(f"| {label} | {head:.3f} | {ruled:.3f} | {target} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    typer.run(main)
