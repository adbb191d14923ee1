"""MLflow plumbing: where runs go, how a `TriageModel` is logged, registered, loaded and promoted."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from model import ARTIFACT_KEY
from model.paths import PROJECT_ROOT
from model.predictor import TriageModel
from model.pyfunc import TriagePyfunc, prediction_frame
from training import registry
from training.settings import Settings

INPUT_EXAMPLE = pd.DataFrame({"text": ["Lampu PJU di Jl. Ahmad Yani mati sudah seminggu, gelap sekali malam hari."]})
REQUIREMENTS = ["scikit-learn", "PySastrawi", "pandas", "numpy", "scipy", "PyYAML", "joblib", "mlflow"]


def configure(settings: Settings) -> MlflowClient:
    """Point MLflow at the configured store and make sure the experiment exists."""
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    client = MlflowClient()
    if client.get_experiment_by_name(settings.experiment) is None:
        location = None
        if settings.tracking_uri.startswith("sqlite:") or "://" not in settings.tracking_uri:
            # A local store keeps artifacts beside it, not in whatever directory we happen to run from.
            settings.artifact_root.mkdir(parents=True, exist_ok=True)
            location = settings.artifact_root.resolve().as_uri()
        client.create_experiment(settings.experiment, artifact_location=location)
    if "MLFLOW_RUN_ID" not in os.environ:
        # Under `mlflow run` the run already exists in the experiment chosen on that command line.
        mlflow.set_experiment(settings.experiment)
    return client


def _pinned(requirements: list[str]) -> list[str]:
    pins = []
    for name in requirements:
        try:
            pins.append(f"{name}=={package_version(name)}")
        except Exception:  # not installed under that distribution name: leave unpinned
            pins.append(name)
    return pins


def log_model(model: TriageModel, registered_model: str | None) -> mlflow.models.model.ModelInfo:
    """Log the model as a pyfunc (with signature and input example) inside the active run."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "triage_model.pkl"
        model.save(path)
        signature = infer_signature(INPUT_EXAMPLE, prediction_frame(model, INPUT_EXAMPLE["text"].tolist()))
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=TriagePyfunc(),
            artifacts={ARTIFACT_KEY: str(path)},
            code_paths=[str(PROJECT_ROOT / "model")],
            signature=signature,
            input_example=INPUT_EXAMPLE,
            pip_requirements=_pinned(REQUIREMENTS),
            registered_model_name=registered_model,
        )


def champion(client: MlflowClient, settings: Settings) -> ModelVersion | None:
    try:
        return client.get_model_version_by_alias(settings.registered_model, settings.champion_alias)
    except MlflowException:
        return None


def load_model(uri: str, client: MlflowClient | None = None) -> TriageModel:
    """Load any MLflow model URI (see `registry.download_model`) as a `TriageModel`."""
    with tempfile.TemporaryDirectory() as tmp:
        files = registry.download_model(uri, client or MlflowClient(), Path(tmp))
        return TriageModel.load(files.artifact, files.version)


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def decide_promotion(
    new: dict[str, float],
    current: dict[str, float] | None,
    *,
    tolerance: float,
    metrics: list[str],
    force: bool = False,
) -> Decision:
    """Promote unless the new model is worse than the champion by more than `tolerance` on a gate metric."""
    if current is None:
        return Decision(True, "no champion yet")
    worse = [
        f"{m} {new[m]:.4f} < champion {current[m]:.4f} - {tolerance}"
        for m in metrics
        if m in new and m in current and new[m] < current[m] - tolerance
    ]
    if not worse:
        compared = ", ".join(f"{m} {new[m]:.4f} vs {current[m]:.4f}" for m in metrics if m in new and m in current)
        return Decision(True, f"not worse than champion beyond {tolerance}: {compared}")
    if force:
        return Decision(True, "forced despite: " + "; ".join(worse))
    return Decision(False, "worse than champion: " + "; ".join(worse))


def promote(client: MlflowClient, settings: Settings, version: str) -> None:
    client.set_registered_model_alias(settings.registered_model, settings.champion_alias, version)
