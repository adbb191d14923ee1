"""The first model fetched by a helper process while the service starts (serving/fetch.py): the same model as
a load in the service would give, a service ready without having imported MLflow, and a load in the service
whenever the helper cannot be used."""

from __future__ import annotations

import json
import subprocess
import sys

from serving.fetch import ModelFetch
from serving.loader import ModelHolder
from serving.metrics import Metrics
from tests.serving_helpers import serving_settings


def holder_with(settings, fetch: ModelFetch) -> ModelHolder:
    return ModelHolder(settings, Metrics(), fetch=fetch)


def test_the_helpers_model_is_the_champion_with_its_training_figures(store, tmp_path):
    settings = serving_settings(store[0], tmp_path)
    fetch = ModelFetch(settings.tracking_uri, settings.serving_uri)
    assert settings.tracking_uri not in " ".join(fetch._proc.args), "a URI can hold a password: not in `ps`"
    holder = holder_with(settings, fetch)
    assert holder.check() == "loaded"
    loaded = holder.current
    assert loaded.uri == "models:/complaint-triage/1" and loaded.model.version == "1"
    assert loaded.model.run_id == store[1].run_id
    assert loaded.training_metrics["opd_accuracy"] > 0.5
    assert not fetch._dir.exists(), "the helper's download is deleted once loaded"
    assert holder._client is None, "MLflow's client was not needed for the first load"


def test_a_helper_that_died_leaves_the_load_to_the_service(store, tmp_path):
    settings = serving_settings(store[0], tmp_path)
    fetch = ModelFetch(settings.tracking_uri, settings.serving_uri)
    fetch._proc.kill()
    holder = holder_with(settings, fetch)
    assert holder.check() == "loaded"
    assert holder.current.model.version == "1" and holder.status.last_error is None
    assert not fetch._dir.exists()


def test_a_helper_started_for_another_model_is_not_used(store, tmp_path):
    settings = serving_settings(store[0], tmp_path, model_uri="models:/complaint-triage/1")
    fetch = ModelFetch(settings.tracking_uri, "models:/no-such-model@champion")
    holder = holder_with(settings, fetch)
    assert holder.check() == "loaded"
    assert holder.current.uri == "models:/complaint-triage/1"
    assert fetch._proc.poll() is not None and not fetch._dir.exists(), "stopped and cleaned up"


def test_a_helper_that_cannot_find_the_model_reports_why_and_the_service_says_so_too(store, tmp_path):
    settings = serving_settings(store[0], tmp_path, model_uri="models:/no-such-model/1")
    holder = holder_with(settings, ModelFetch(settings.tracking_uri, settings.serving_uri))
    assert holder.check() == "failed"
    assert holder.current is None and "no-such-model" in holder.status.last_error


STARTED_LIKE_TRIASE_SERVE = """
import gc, json, sys, time
from serving.fetch import ModelFetch
from training.settings import get_settings

settings = get_settings()
fetch = ModelFetch(settings.tracking_uri, settings.serving_uri)
import serving.main
from fastapi.testclient import TestClient

with TestClient(serving.main.create_app(settings, fetch)) as client:
    deadline = time.monotonic() + 60
    while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    seen = {"ready": client.get("/readyz").status_code == 200, "mlflow_at_ready": "mlflow" in sys.modules}
    holder = client.app.state.service.holder
    if settings.reload_interval > 0:  # following the alias: the client is made at once, and its objects frozen
        while holder._client is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        seen.update(client_made=holder._client is not None, tracked=len(gc.get_objects()))
print(json.dumps(seen))
"""


def start_like_triase_serve(settings, tmp_path, reload_interval: int) -> dict:
    env = {
        "PATH": "/usr/bin:/bin",
        "TRIASE_TRACKING_URI": settings.tracking_uri,
        "TRIASE_ARTIFACT_ROOT": str(settings.artifact_root),
        "TRIASE_DATABASE_URL": f"sqlite:///{tmp_path / 'service.db'}",
        "TRIASE_RELOAD_INTERVAL": str(reload_interval),
    }
    run = subprocess.run(
        [sys.executable, "-c", STARTED_LIKE_TRIASE_SERVE], env=env, capture_output=True, text=True, timeout=180
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_a_service_started_with_the_helper_is_ready_without_importing_mlflow(store, tmp_path):
    """What the helper is for: MLflow's import and client (over a second of a start on the target machine)
    stay out of the service until it is ready. Alias polling is off here, so nothing imports it afterwards."""
    assert start_like_triase_serve(store[0], tmp_path, reload_interval=0) == {"ready": True, "mlflow_at_ready": False}


def test_mlflow_imported_after_the_start_stays_out_of_the_collectors_view(store, tmp_path):
    """Following the alias needs MLflow's client, made just after the first load. Its import leaves about
    170,000 objects that every full collection would walk (a pause of 56 ms on a fast host) unless frozen
    like the model's."""
    seen = start_like_triase_serve(store[0], tmp_path, reload_interval=30)
    assert seen["ready"] and seen["client_made"]
    assert seen["tracked"] < 20_000, f"{seen['tracked']} objects left for the collector to walk"
