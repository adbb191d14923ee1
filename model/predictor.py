"""`TriageModel`: the two fitted heads, the taxonomy, safety rules and thresholds; what a prediction is."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.pipeline import Pipeline

from model import MODEL_NAME
from model.abstention import ValidationSet
from model.explain import feature_names, linear_weights, surface_forms, top_terms
from model.features import FeatureMemo, same_features, share_vocabularies, transform_unions
from model.preprocess import TextAnalysis
from model.rules import Firing, UrgencyRules
from model.taxonomy import Taxonomy
from model.urgency_decision import check_decision, decide_levels

N_ALTERNATIVES = 2
DEFAULT_TARGET_PRECISION = 0.95


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
    model_urgency: str = ""  # the learned head's level before safety rules
    urgency_rules: list[dict] = field(default_factory=list)
    needs_review: bool = False
    review_reasons: list[str] = field(default_factory=list)
    explanation: dict[str, list[dict]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ReviewPolicy:
    """When a suggestion should go to a person rather than be routed automatically."""

    target_precision: float = DEFAULT_TARGET_PRECISION
    close_margin: float = 0.10  # top two OPDs closer than this: ambiguous
    min_known_share: float = 0.5  # fewer known words than this share: the model is guessing


class TriageModel:
    """Routing (`opd`) and urgency heads, each a scikit-learn `Pipeline` from raw text to probabilities.

    The taxonomy, urgency rules and validation predictions travel with the model so that a saved model
    needs nothing from outside. `version` is filled in by whoever loads it from the registry.
    """

    # Fingerprints of the texts both heads were trained on, so that a later training run compares itself with
    # this model only on complaints this model has not seen. Empty for models saved before it was recorded.
    trained_on: frozenset[str] = frozenset()
    # How urgency probabilities become a level (`model.urgency_decision`); models saved before it existed used
    # the most probable level.
    urgency_decision: str = "most_probable"

    def __init__(
        self,
        opd: Pipeline,
        urgency: Pipeline,
        taxonomy: Taxonomy,
        *,
        rules: UrgencyRules | None = None,
        validation: ValidationSet | None = None,
        policy: ReviewPolicy = ReviewPolicy(),
        urgency_prior_shift: dict[str, float] | None = None,
        urgency_decision: str = "most_probable",
        name: str = MODEL_NAME,
        run_id: str | None = None,
        trained_at: str | None = None,
        trained_on: frozenset[str] = frozenset(),
        version: str | None = None,
    ):
        self.opd = opd
        self.urgency = urgency
        self.taxonomy = taxonomy
        self.rules = rules
        self.validation = validation
        self.policy = policy
        self.urgency_prior_shift = urgency_prior_shift or {}
        self.urgency_decision = check_decision(urgency_decision)
        self.name = name
        self.run_id = run_id
        self.trained_at = trained_at
        self.trained_on = trained_on
        self.version = version
        # Derived once here rather than per request: explanation weights and the default thresholds.
        self._weights = {h: linear_weights(p) for h, p in (("opd", opd), ("urgency", urgency))}
        self._names = {h: feature_names(p) for h, p in (("opd", opd), ("urgency", urgency))}
        self.thresholds = self.thresholds_for(policy.target_precision)
        self._share()

    def save(self, path: Path) -> None:
        """Pickle the model to `path` (a `.pkl` file; `load` reads it back)."""
        # The standard pickle, not joblib's: its C unpickler reads a model in about a quarter of the time of
        # joblib's Python one (0.04 against 0.17 s for the bundled model), a step of every service start.
        with path.open("wb") as f:
            pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def load(path: Path, version: str | None = None) -> TriageModel:
        """The model saved at `path` (a logged model's artifact), as the registry `version` when it has one."""
        if path.suffix == ".joblib":  # logged before models were saved with `save`
            model = joblib.load(path)
        else:
            with path.open("rb") as f:
                model = pickle.load(f)
        if not isinstance(model, TriageModel):
            raise ValueError(f"not a Triase model: {path.name} holds a {type(model).__name__}")
        model.version = version
        return model

    @property
    def opd_classes(self) -> list[str]:
        return list(self.opd.classes_)

    @property
    def urgency_classes(self) -> list[str]:
        return list(self.urgency.classes_)

    def thresholds_for(self, target_precision: float) -> dict[str, float]:
        """Per-class auto-route thresholds for a target precision (1.0 = always review)."""
        if self.validation is None:
            return {}
        return self.validation.thresholds(target_precision)

    def _share(self) -> None:
        """Note what the heads have in common. Vectorisers fitted on the same texts with the same settings have
        equal vocabularies: they then hold one copy (a saved model stores it once) and compute their block once."""
        opd_prep, urg_prep = _step(self.opd, "prep"), _step(self.urgency, "prep")
        opd_union, urg_union = _step(self.opd, "features"), _step(self.urgency, "features")
        same_prep = opd_prep.get_params() == urg_prep.get_params()
        if same_prep:
            share_vocabularies([opd_union, urg_union])
        self._sharing = (same_prep, same_prep and same_features(opd_union, urg_union))

    def _features(
        self, texts: list[str], analyses: list[TextAnalysis] | None = None
    ) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Each head's features for the texts; `analyses` of the texts (`IndonesianPreprocessor.analyse_all`),
        when the caller has them, spare preprocessing them again."""
        # Both heads usually share preprocessing settings: run it once and feed both.
        opd_prep, urg_prep = _step(self.opd, "prep"), _step(self.urgency, "prep")
        opd_union, urg_union = _step(self.opd, "features"), _step(self.urgency, "features")
        if "_sharing" not in self.__dict__:  # models saved before sharing existed
            self._share()
        same_prep, same_features_ = self._sharing
        memo = self.__dict__.setdefault("_feature_memo", FeatureMemo())
        opd_documents = opd_prep.transform(texts) if analyses is None else [a.document for a in analyses]
        if not same_prep:
            (x_opd,) = transform_unions([opd_union], opd_documents, memo)
            return x_opd, transform_unions([urg_union], urg_prep.transform(texts), memo)[0]
        if same_features_:  # heads fitted on the same texts with the same settings
            (x,) = transform_unions([opd_union], opd_documents, memo)
            return x, x
        x_opd, x_urg = transform_unions([opd_union, urg_union], opd_documents, memo)
        return x_opd, x_urg

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_feature_memo", None)  # a cache keyed by this process's objects: never saved
        return state

    def predict_proba(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(opd probabilities, urgency probabilities), columns in `opd_classes` / `urgency_classes` order."""
        x_opd, x_urg = self._features(list(texts))
        return _step(self.opd, "clf").predict_proba(x_opd), self._urgency_proba(x_urg)

    def _urgency_proba(self, x_urg) -> np.ndarray:
        """Urgency probabilities corrected for the deployment prior.

        The training corpus over-represents emergencies (about 10% against 1-2% in a real stream);
        scaling each class by its prior ratio and renormalising is the standard prior-shift correction.
        """
        proba = _step(self.urgency, "clf").predict_proba(x_urg)
        if not self.urgency_prior_shift:
            return proba
        factors = np.array([self.urgency_prior_shift.get(c, 1.0) for c in self.urgency_classes])
        shifted = proba * factors
        return shifted / shifted.sum(axis=1, keepdims=True)

    def model_urgency(self, urgency_proba: np.ndarray) -> list[str]:
        """The learned head's level for each row of urgency probabilities, before the safety rules."""
        classes = self.urgency_classes
        return [classes[i] for i in decide_levels(urgency_proba, classes, self.urgency_decision)]

    def final_urgency(self, texts: Sequence[str], urgency_proba: np.ndarray) -> list[tuple[str, list[Firing]]]:
        """Urgency after the safety rules, with the rules that fired, for each text."""
        analyses = _step(self.opd, "prep").analyse_all(texts)
        return [
            self._apply_rules(level, analysis.words)
            for analysis, level in zip(analyses, self.model_urgency(urgency_proba), strict=True)
        ]

    def _apply_rules(self, level: str, words: list[str]) -> tuple[str, list[Firing]]:
        firings = self.rules.fire(words) if self.rules else []
        return UrgencyRules.apply(level, firings), firings

    def _review_reasons(
        self,
        top: list[float],
        code: str,
        terms: list[str],
        firings: list[Firing],
        thresholds: dict[str, float],
        vocabulary: dict,
    ) -> list[str]:
        """Why a person should look at this suggestion (`top`: its best OPD probabilities, highest first); empty
        when it can be routed automatically."""
        reasons = []
        if top[0] < thresholds.get(code, 0.0):
            reasons.append("low_confidence")
        if top[0] - top[1] < self.policy.close_margin:
            reasons.append("close_second")
        known = sum(map(vocabulary.__contains__, terms))
        if not terms or known < self.policy.min_known_share * len(terms):
            reasons.append("out_of_vocabulary")
        if any(f.raise_to == "darurat" for f in firings):
            reasons.append("emergency_rule")
        return reasons

    def predict(
        self,
        texts: Sequence[str],
        *,
        target_precision: float | None = None,
        thresholds: dict[str, float] | None = None,
        explain: bool = True,
    ) -> list[Prediction]:
        """Predict each text. Review thresholds: `thresholds` if given, else those for `target_precision`,
        else the ones for the precision the model was trained with."""
        texts = list(texts)
        # The texts' one normalising pass feeds their features, the rules, the vocabulary check and the explanations.
        analyses = _step(self.opd, "prep").analyse_all(texts)
        x_opd, x_urg = self._features(texts, analyses)
        opd_proba = _step(self.opd, "clf").predict_proba(x_opd)
        urg_proba = self._urgency_proba(x_urg)
        if thresholds is None:
            thresholds = self.thresholds if target_precision is None else self.thresholds_for(target_precision)
        opd_classes, urg_classes = self.opd_classes, self.urgency_classes
        vocabulary = _step(self.opd, "features").transformer_list[0][1].vocabulary_
        # Whole-batch array work first; the loop below then handles plain Python values.
        ranked = np.argsort(-opd_proba, axis=1)[:, : 1 + N_ALTERNATIVES]
        top_probabilities = np.take_along_axis(opd_proba, ranked, axis=1).tolist()
        model_levels = decide_levels(urg_proba, urg_classes, self.urgency_decision).tolist()
        predictions = []
        for i, (analysis, best, top, p_urg, m) in enumerate(
            zip(analyses, ranked.tolist(), top_probabilities, urg_proba.tolist(), model_levels, strict=True)
        ):
            choices = [
                OpdChoice(opd_classes[j], self.taxonomy.name_of(opd_classes[j]), round(p, 4))
                for j, p in zip(best, top, strict=True)
            ]
            model_level = urg_classes[m]
            level, firings = self._apply_rules(model_level, analysis.words)
            reasons = self._review_reasons(top, choices[0].code, analysis.terms, firings, thresholds, vocabulary)
            explanation = {}
            if explain:
                surfaces = surface_forms(analysis.terms, analysis.written)
                explanation = {
                    "opd": top_terms(x_opd, i, self._weights["opd"][best[0]], self._names["opd"], surfaces),
                    "urgency": top_terms(x_urg, i, self._weights["urgency"][m], self._names["urgency"], surfaces),
                }
            predictions.append(
                Prediction(
                    opd=choices[0],
                    alternatives=choices[1:],
                    urgency=level,
                    urgency_probability=round(p_urg[urg_classes.index(level)], 4),
                    urgency_probabilities={c: round(p, 4) for c, p in zip(urg_classes, p_urg, strict=True)},
                    model_urgency=model_level,
                    urgency_rules=[asdict(f) for f in firings],
                    needs_review=bool(reasons),
                    review_reasons=reasons,
                    explanation=explanation,
                    model_name=self.name,
                    model_version=self.version,
                )
            )
        return predictions


def _step(head: Pipeline, name: str):
    """A pipeline's step by name (`named_steps` builds a new `Bunch` of every step on each access)."""
    return dict(head.steps)[name]
