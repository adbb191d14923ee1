"""The model registry through MLflow's client alone: which version a URI names, and fetching a model's files.

Apart from `training.tracking`, which logs models and so imports scikit-learn and MLflow's pyfunc flavour, so
that the service's start-up helper (serving/fetch.py) can use it in a process that imports nothing else.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import mlflow.artifacts
from mlflow.models import Model
from mlflow.tracking import MlflowClient

from model import ARTIFACT_KEY

# Keep MLflow's own chatter (and its pip-inference warnings) out of the CLI output and the service's logs.
logging.getLogger("mlflow").setLevel(logging.ERROR)
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@dataclass(frozen=True)
class ModelFiles:
    artifact: Path  # the pickled `TriageModel`
    version: str | None  # registry version; None for a model named by run or path
    run_id: str | None


def registry_client(tracking_uri: str) -> MlflowClient:
    """A client for the store at `tracking_uri` that does not depend on MLflow's process-wide URIs."""
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def registry_version(uri: str, client: MlflowClient) -> tuple[str, str | None]:
    """(registered name, version) for models:/name@alias and models:/name/N; version None for other forms."""
    name, _, alias = uri.removeprefix("models:/").partition("@")
    if alias:
        return name, str(client.get_model_version_by_alias(name, alias).version)
    name, _, number = name.partition("/")
    return name, number if number.isdigit() else None


def resolve(uri: str, client: MlflowClient) -> tuple[str, str | None]:
    """The exact URI that `uri` names now (an alias followed to its current version) and its registry version."""
    name, version = registry_version(uri, client)
    return (f"models:/{name}/{version}", version) if version is not None else (uri, None)


def model_location(uri: str, client: MlflowClient) -> tuple[str, str | None]:
    """Where the files of the model `uri` names are stored, and its registry version (None outside the registry).

    Registry URIs are resolved with `client`, not with MLflow's process-wide URIs, so a service can follow a
    store other than the one the process last configured.
    """
    if not uri.startswith("models:/"):
        return uri, None
    name, version = registry_version(uri, client)
    if version is None:
        return uri, None
    return client.get_model_version_download_uri(name, version), version


def download_model(uri: str, client: MlflowClient, dst: Path) -> ModelFiles:
    """Download any MLflow model URI (models:/name@alias, models:/name/3, runs:/…, a local path) into `dst`."""
    location, version = model_location(uri, client)
    local = Path(
        mlflow.artifacts.download_artifacts(artifact_uri=location, dst_path=str(dst), tracking_uri=client.tracking_uri)
    )
    # Read as the pyfunc wrapper finds it, without loading the wrapper (a third of a second more at every start).
    logged = Model.load(str(local))
    artifact = logged.flavors.get("python_function", {}).get("artifacts", {}).get(ARTIFACT_KEY)
    if artifact is None:
        raise ValueError(f"not a Triase model: its MLmodel names no {ARTIFACT_KEY!r} artifact")
    return ModelFiles(local / artifact["path"], version, logged.run_id)


def run_metrics(client: MlflowClient, run_id: str | None) -> dict[str, float]:
    """The metrics a model's training run logged; empty when there is no run or it cannot be read."""
    if not run_id:
        return {}
    try:
        return dict(client.get_run(run_id).data.metrics)
    except Exception:  # the figures are informative; a model without them still serves
        return {}
