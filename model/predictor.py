"""`TriageModel`: the two fitted heads plus the taxonomy, and what a prediction looks like."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.pipeline import Pipeline

from model.taxonomy import Taxonomy

MODEL_NAME = "complaint-triage"
N_ALTERNATIVES = 2


@dataclass(frozen=True)
class OpdChoice:
    code: str
    name: str
    probability: float


@dataclass(frozen=True)
class Prediction:
    opd: OpdChoice
    alternatives: list[OpdChoice]
    urgency: str
    urgency_probability: float
    model_name: str
    model_version: str | None = None
    urgency_probabilities: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


class TriageModel:
    """Routing (`opd`) and urgency heads, each a scikit-learn `Pipeline` from raw text to probabilities.

    The taxonomy travels with the model so that a saved model needs nothing from outside.
    `version` is filled in by whoever loads it from the registry; training cannot know it.
    """

    def __init__(
        self,
        opd: Pipeline,
        urgency: Pipeline,
        taxonomy: Taxonomy,
        *,
        name: str = MODEL_NAME,
        run_id: str | None = None,
        trained_at: str | None = None,
        version: str | None = None,
    ):
        self.opd = opd
        self.urgency = urgency
        self.taxonomy = taxonomy
        self.name = name
        self.run_id = run_id
        self.trained_at = trained_at
        self.version = version

    @property
    def opd_classes(self) -> list[str]:
        return list(self.opd.classes_)

    @property
    def urgency_classes(self) -> list[str]:
        return list(self.urgency.classes_)

    def _prepared(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        # Both heads usually share preprocessing settings: run it once and feed both.
        opd_prep, urg_prep = self.opd.named_steps["prep"], self.urgency.named_steps["prep"]
        opd_terms = opd_prep.transform(texts)
        same = opd_prep.get_params() == urg_prep.get_params()
        return opd_terms, opd_terms if same else urg_prep.transform(texts)

    def predict_proba(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(opd probabilities, urgency probabilities), columns in `opd_classes` / `urgency_classes` order."""
        opd_terms, urg_terms = self._prepared(list(texts))
        return self.opd[1:].predict_proba(opd_terms), self.urgency[1:].predict_proba(urg_terms)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        opd_proba, urg_proba = self.predict_proba(texts)
        opd_classes, urg_classes = self.opd_classes, self.urgency_classes
        predictions = []
        for p_opd, p_urg in zip(opd_proba, urg_proba, strict=True):
            ranked = np.argsort(-p_opd)[: 1 + N_ALTERNATIVES]
            choices = [
                OpdChoice(opd_classes[i], self.taxonomy.name_of(opd_classes[i]), round(float(p_opd[i]), 4))
                for i in ranked
            ]
            best_urg = int(np.argmax(p_urg))
            predictions.append(
                Prediction(
                    opd=choices[0],
                    alternatives=choices[1:],
                    urgency=urg_classes[best_urg],
                    urgency_probability=round(float(p_urg[best_urg]), 4),
                    urgency_probabilities={c: round(float(p), 4) for c, p in zip(urg_classes, p_urg, strict=True)},
                    model_name=self.name,
                    model_version=self.version,
                )
            )
        return predictions
