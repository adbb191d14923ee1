"""MLflow plumbing: where runs go, how a `TriageModel` is logged, registered, loaded and promoted."""

from __future__ import annotations

import gc
import logging
import os
import tempfile
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path

import joblib
import mlflow
import pandas as pd
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from model.paths import PROJECT_ROOT
from model.predictor import TriageModel
from model.pyfunc import ARTIFACT_KEY, TriagePyfunc, prediction_frame
from training.settings import Settings

# Keep MLflow's own chatter (and its pip-inference warnings) out of the CLI output.
logging.getLogger("mlflow").setLevel(logging.ERROR)
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

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


def registry_client(settings: Settings) -> MlflowClient:
    """A client for the configured store that does not depend on MLflow's process-wide URIs."""
    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)


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
        path = Path(tmp) / "triage_model.joblib"
        joblib.dump(model, path)
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


def settle_memory(collect: bool = True) -> None:
    """Call after loading a model to predict with (the service after each swap, `triase predict`, the benchmarks).

    Collects what a previous model left, then takes everything alive (above all the model's hundreds of thousands
    of objects) out of the garbage collector's view. Otherwise every full collection walks the whole model: a pause
    of 150-250 ms that requests arriving meanwhile wait out, and about a fifth of a large batch's time.
    Refcounting still frees objects.

    `collect=False` skips the collection when there is no previous model to free: what it would find then is the
    start-up's own leftovers (about 4,000 objects, 1.2 MiB, measured), not worth a pause of 0.2-0.3 s before the
    service is ready; frozen, they stay."""
    gc.unfreeze()
    if collect:
        gc.collect()
    gc.freeze()


def load_model(uri: str, client: MlflowClient | None = None) -> TriageModel:
    """Load any MLflow model URI (models:/name@alias, models:/name/3, runs:/…, a local path) as a `TriageModel`.

    Registry URIs are resolved with `client`, not with MLflow's process-wide URIs, so a service can follow a
    store other than the one the process last configured.
    """
    client = client or MlflowClient()
    location, version = uri, None
    if uri.startswith("models:/"):
        name, version = registry_version(uri, client)
        if version is not None:
            location = client.get_model_version_download_uri(name, version)
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=location, dst_path=tmp, tracking_uri=client.tracking_uri
        )
        model = _read_model(Path(local))
    model.version = version
    return model


def _read_model(local: Path) -> TriageModel:
    """The `TriageModel` in a logged model's directory, read from its artifact as the pyfunc wrapper does, but
    without loading the wrapper itself (about a third of a second more at every service start)."""
    flavor = mlflow.models.Model.load(str(local)).flavors.get("python_function", {})
    artifact = flavor.get("artifacts", {}).get(ARTIFACT_KEY)
    if artifact is None:
        raise ValueError(f"not a Triase model: its MLmodel names no {ARTIFACT_KEY!r} artifact")
    return joblib.load(local / artifact["path"])


def registry_version(uri: str, client: MlflowClient) -> tuple[str, str | None]:
    """(registered name, version) for models:/name@alias and models:/name/N; version None for other forms."""
    name, _, alias = uri.removeprefix("models:/").partition("@")
    if alias:
        return name, str(client.get_model_version_by_alias(name, alias).version)
    name, _, number = name.partition("/")
    return name, number if number.isdigit() else None


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
