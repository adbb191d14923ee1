"""MLflow pyfunc flavour of `TriageModel`, so `mlflow models serve` and any MLflow client can use it."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from model import ARTIFACT_KEY
from model.predictor import N_ALTERNATIVES, TriageModel


def prediction_frame(model: TriageModel, texts: list[str]) -> pd.DataFrame:
    rows = []
    for p in model.predict(texts, explain=False):
        row = {"opd": p.opd.code, "opd_name": p.opd.name, "opd_probability": p.opd.probability}
        for i, alt in enumerate(p.alternatives, 1):
            row[f"alt{i}_opd"] = alt.code
            row[f"alt{i}_probability"] = alt.probability
        row.update(
            urgency=p.urgency,
            urgency_probability=p.urgency_probability,
            urgency_rules=",".join(f["rule"] for f in p.urgency_rules),
            needs_review=p.needs_review,
            review_reasons=",".join(p.review_reasons),
            model_name=p.model_name,
            model_run_id=model.run_id or "",
        )
        rows.append(row)
    columns = ["opd", "opd_name", "opd_probability"]
    for i in range(1, N_ALTERNATIVES + 1):
        columns += [f"alt{i}_opd", f"alt{i}_probability"]
    columns += [
        "urgency",
        "urgency_probability",
        "urgency_rules",
        "needs_review",
        "review_reasons",
        "model_name",
        "model_run_id",
    ]
    return pd.DataFrame(rows, columns=columns)


class TriagePyfunc(mlflow.pyfunc.PythonModel):
    """Input: a DataFrame with a `text` column. Output: one row per text (see `prediction_frame`)."""

    def load_context(self, context) -> None:
        self.model = TriageModel.load(Path(context.artifacts[ARTIFACT_KEY]))

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        if isinstance(model_input, pd.DataFrame):
            if "text" not in model_input.columns:
                raise ValueError("input must have a 'text' column")
            texts = model_input["text"].astype(str).tolist()
        else:
            texts = [str(t) for t in model_input]
        return prediction_frame(self.model, texts)
