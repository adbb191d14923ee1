"""Hyperparameter search for one head, as nested MLflow runs, on the training part of the data only."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import mlflow
import yaml

from model.pipeline import build_head
from model.urgency_decision import decide_levels
from training import tracking
from training.metrics import opd_metrics, urgency_metrics
from training.settings import Settings
from training.train import PARAMS_PATH, Progress, model_options, split

SEARCH_SPACE = {
    "C": [0.1, 0.25, 0.5, 1.0, 2.0],
    "char_ngrams": [True, False],
    "word_ngram_max": [1, 2],
    "class_weight": ["balanced", None],
}
HEADER = "# Default training configuration (under version control). `triase tune` rewrites a head's section.\n"


def candidates(trials: int, seed: int) -> list[dict]:
    grid = [dict(zip(SEARCH_SPACE, values, strict=True)) for values in itertools.product(*SEARCH_SPACE.values())]
    random.Random(seed).shuffle(grid)
    return grid[:trials]


def tune(
    settings: Settings,
    frame,
    params: dict,
    *,
    head: str = "opd",
    trials: int = 12,
    metric: str = "macro_f1",
    output: Path | str = PARAMS_PATH,
    progress: Progress = lambda message: None,
) -> dict:
    """Search `head`'s parameters; write the best into `output` and return them.

    The held-out test part of `frame` (the same split `triase train` uses) is dropped first; the search
    trains on the rest and scores on a validation slice carved from it the same way.
    """
    decision = model_options(params)["urgency_decision"]  # the urgency head is scored the way it will decide
    split_args = {"test_size": params["split"]["test_size"], "seed": params["split"]["seed"]}
    train_part, _ = split(frame, **split_args)
    fit_part, validation = split(train_part, **split_args)
    tracking.configure(settings)
    best: tuple[float, dict] | None = None
    with mlflow.start_run(run_name=f"tune-{head}") as parent:
        mlflow.log_params(
            {
                "head": head,
                "trials": trials,
                "metric": metric,
                "rows_fit": len(fit_part),
                "rows_validation": len(validation),
            }
        )
        for i, candidate in enumerate(candidates(trials, params["split"]["seed"]), 1):
            config = {**params[head], **candidate}
            with mlflow.start_run(run_name=f"trial-{i}", nested=True):
                model = build_head(**config).fit(fit_part["text"].tolist(), fit_part[head].tolist())
                proba = model.predict_proba(validation["text"].tolist())
                if head == "opd":
                    scores = opd_metrics(validation[head].tolist(), proba, list(model.classes_))
                else:
                    predicted = list(model.classes_[decide_levels(proba, model.classes_, decision)])
                    scores = urgency_metrics(validation[head].tolist(), predicted)
                scores = {k: v for k, v in scores.items() if isinstance(v, float)}
                mlflow.log_params(candidate)
                mlflow.log_metrics(scores)
            progress(f"trial {i}/{trials} {candidate}: {metric} {scores[metric]:.4f}")
            if best is None or scores[metric] > best[0]:
                best = (scores[metric], config)
        assert best is not None
        mlflow.log_metric(f"best_{metric}", best[0])
        mlflow.log_dict(best[1], "best_params.json")
        progress(f"best {metric} {best[0]:.4f} in run {parent.info.run_id}")
    updated = {**params, head: best[1]}
    Path(output).write_text(HEADER + yaml.safe_dump(updated, sort_keys=False), encoding="utf-8")
    return best[1]
