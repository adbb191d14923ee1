"""Model loading while serving: readiness before the first model, hot reload of a promoted version without a
failed request, and a broken version that must not replace the one being served."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import client_for
from tests.serving_helpers import make_keys, serving_settings, started, wait_ready

pytestmark = pytest.mark.slow

TEXT = "Air PDAM di Perumahan Villa Muka Kuning tidak mengalir sejak tiga hari, warga kesulitan mandi dan masak."


def wait_for(condition, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Traffic:
    """Predictions sent continuously from another thread, remembering every status and model version."""

    def __init__(self, client, key):
        self.client, self.key = client, key
        self.seen: list[tuple[int, str | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            r = self.client.post("/v1/predict", json={"text": TEXT}, headers={"X-API-Key": self.key})
            self.seen.append((r.status_code, r.json().get("model", {}).get("version")))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)


def test_not_ready_until_a_model_exists_then_ready_without_restart(store, tmp_path):
    settings = serving_settings(store[0], tmp_path, copy_store=True, reload_interval=0.2)
    registry = client_for(settings)
    registry.delete_registered_model_alias(settings.registered_model, settings.champion_alias)
    keys = make_keys(settings)
    with started(settings) as client:
        assert client.get("/healthz").status_code == 200
        # Until the first load attempt fails, the reason is "loading the model"; wait for the failure itself.
        response = wait_for(
            lambda: (r := client.get("/readyz")).status_code == 503 and "champion" in r.json()["reason"] and r,
            what="the failed load to be reported",
        )
        assert response.json()["status"] == "not_ready"
        refused = client.post("/v1/predict", json={"text": TEXT}, headers={"X-API-Key": keys.intake})
        assert refused.status_code == 503 and refused.headers["retry-after"]
        registry.set_registered_model_alias(settings.registered_model, settings.champion_alias, "1")
        assert wait_ready(client)["model"]["version"] == "1"
        assert client.post("/v1/predict", json={"text": TEXT}, headers={"X-API-Key": keys.intake}).status_code == 200


def test_promoted_version_is_picked_up_without_a_failed_request_and_a_broken_one_is_not(store, tmp_path):
    # No rate limit: the traffic below sends as fast as the service answers, past 600 a minute on a fast host.
    settings = serving_settings(store[0], tmp_path, copy_store=True, reload_interval=0.2, rate_limit="")
    registry = client_for(settings)
    name, alias = settings.registered_model, settings.champion_alias
    v1 = registry.get_model_version(name, "1")
    keys = make_keys(settings)
    admin = {"X-API-Key": keys.admin}
    with started(settings) as client:
        wait_ready(client)
        with Traffic(client, keys.intake) as traffic:
            wait_for(lambda: len(traffic.seen) > 5, what="first responses")
            # The same artifacts as version 1, registered again: a new version number to switch to.
            source = registry.get_model_version_download_uri(name, v1.version)
            v2 = str(registry.create_model_version(name, source=source, run_id=v1.run_id).version)
            registry.set_registered_model_alias(name, alias, v2)
            wait_for(lambda: traffic.seen[-1][1] == v2, what="the new version to answer")
            time.sleep(0.5)
        statuses = {status for status, _ in traffic.seen}
        versions = [version for _, version in traffic.seen]
        assert statuses == {200}, f"failed requests during the swap: {statuses}"
        switch = versions.index(v2)
        assert set(versions[:switch]) == {"1"} and set(versions[switch:]) == {v2}

        broken_dir = tmp_path / "broken-model"
        broken_dir.mkdir()
        (broken_dir / "MLmodel").write_text("this is not a model\n")
        v3 = registry.create_model_version(name, source=str(broken_dir), run_id=None)
        with Traffic(client, keys.intake) as traffic:
            registry.set_registered_model_alias(name, alias, v3.version)
            info = wait_for(
                lambda: (b := client.get("/v1/model", headers=admin).json())["status"]["last_error"] and b,
                what="the failed load to be reported",
            )
            time.sleep(0.5)
        assert info["version"] == v2, "the old model keeps serving"
        assert {status for status, _ in traffic.seen} == {200}
        assert {version for _, version in traffic.seen} == {v2}
        assert client.get("/readyz").json()["model"]["version"] == v2
        assert 'triase_model_loads_total{outcome="failed"}' in client.get("/metrics").text

        forced = client.post("/v1/admin/reload", headers=admin).json()
        assert forced["outcome"] == "failed" and forced["error"] and forced["model"]["version"] == v2

        registry.set_registered_model_alias(name, alias, "1")
        back = client.post("/v1/admin/reload", headers=admin).json()
        # The watcher (every 0.2 s) may have loaded it already; either way version 1 now serves.
        assert back["outcome"] in ("loaded", "unchanged") and back["model"]["version"] == "1"
        status = client.get("/v1/model", headers=admin).json()["status"]
        assert status["last_error"] is None and status["watching"] is True
