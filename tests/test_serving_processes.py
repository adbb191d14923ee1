"""The service as real processes: `triase serve --workers 2` (first start, each worker loading once, metrics
added up across workers), `triase apikey`, and the registered model under `mlflow models serve`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from benchmarks.processes import free_port, stop

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
TEXT = "Sampah di depan pasar Jodoh menumpuk sudah seminggu tidak diangkut, bau sekali."


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 120.0, ok=lambda r: r.status_code == 200):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode}")
        try:
            response = httpx.get(url, timeout=2)
            if ok(response):
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} not answering after {timeout}s")


@pytest.fixture
def service_env(store, tmp_path):
    settings = store[0]
    env = {
        **os.environ,
        "TRIASE_TRACKING_URI": settings.tracking_uri,
        "TRIASE_ARTIFACT_ROOT": str(settings.artifact_root),
        "TRIASE_DATABASE_URL": f"sqlite:///{tmp_path / 'service.db'}",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def test_two_workers_each_load_once_and_share_metrics(service_env, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [BIN / "triase", "serve", "--port", str(port), "--workers", "2"], env=service_env, stdout=out, stderr=out
        )
    try:
        base = f"http://127.0.0.1:{port}"

        def loaded_events():
            lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
            return [x for x in lines if x.get("message") == "model loaded"]

        wait_http(f"{base}/readyz", proc)
        deadline = time.monotonic() + 120
        while len(loaded_events()) < 2 and time.monotonic() < deadline:
            time.sleep(0.3)
        text = log.read_text()
        assert text.count("first start, so an admin API key was created") == 1
        key = next(line.split()[0] for line in text.splitlines() if line.strip().startswith("tri_"))
        assert f"curl -s -X POST {base}/v1/predict" in text

        answers = []
        for i in range(20):  # a fresh connection each time, so both workers get some
            r = httpx.post(f"{base}/v1/predict", json={"text": f"{TEXT} ({i})"}, headers={"X-API-Key": key})
            answers.append(r.status_code)
        assert answers == [200] * 20
        events = loaded_events()
        assert len(events) == 2 and len({e["pid"] for e in events}) == 2, "each worker loads the model once"
        for event in events:
            assert_without_pyarrow(event["pid"])

        metrics = httpx.get(f"{base}/metrics").text
        served = [line for line in metrics.splitlines() if line.startswith("triase_predictions_total{")]
        assert sum(float(line.split()[-1]) for line in served) == 20, "metrics add up across workers"
        assert "Siti" not in text and TEXT[:30] not in text, "complaint text is not logged"
    finally:
        stop(proc)


def test_apikey_commands(service_env):
    def triase(*args):
        return subprocess.run([BIN / "triase", *args], env=service_env, capture_output=True, text=True)

    made = triase("apikey", "create", "lapor-intake", "--role", "intake")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("tri_")
    listed = triase("apikey", "list")
    assert "lapor-intake" in listed.stdout and "intake" in listed.stdout and key not in listed.stdout
    assert triase("apikey", "create", "lapor-intake").returncode == 1
    bad_role = triase("apikey", "create", "x", "--role", "root")
    assert bad_role.returncode == 1 and "role" in bad_role.stderr
    assert triase("apikey", "revoke", "lapor-intake").returncode == 0
    assert "revoked" in triase("apikey", "list").stdout
    assert triase("apikey", "revoke", "nobody").returncode == 1


def test_registered_model_serves_under_mlflow_models_serve(store, tmp_path):
    settings = store[0]
    port = free_port()
    # mlflow starts `uvicorn` by name: it must find the one in this environment.
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
        "MLFLOW_REGISTRY_URI": settings.tracking_uri,  # MLflow exports these when a test sets them in-process
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }
    cmd = [BIN / "mlflow", "models", "serve", "-m", settings.champion_uri, "--env-manager", "local", "-p", str(port)]
    with open(tmp_path / "mlflow-serve.log", "w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=out, cwd=tmp_path)
    try:
        wait_http(f"http://127.0.0.1:{port}/ping", proc, timeout=180)
        response = httpx.post(
            f"http://127.0.0.1:{port}/invocations",
            json={"dataframe_records": [{"text": TEXT}, {"text": "ada kebakaran di ruko, api besar sekali"}]},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        rows = response.json()["predictions"]
        assert [r["opd"] for r in rows][1] == "pemadam-kebakaran"
        assert rows[1]["urgency"] == "darurat" and rows[0]["model_name"] == "complaint-triage"
    finally:
        stop(proc)


def assert_without_pyarrow(pid: int) -> None:
    """The service keeps pyarrow's libraries (36 MiB it never uses) out of its memory: see serving/main.py."""
    mapped = Path(f"/proc/{pid}/maps").read_text()
    assert "numpy" in mapped and "pyarrow" not in mapped


GC_AT_START = """
import gc, json, time
import serving.main
from fastapi.testclient import TestClient

seen = {"off_at_import": not gc.isenabled()}
with TestClient(serving.main.create_app()) as client:
    deadline = time.monotonic() + 60
    while not gc.isenabled() and time.monotonic() < deadline:
        time.sleep(0.05)
    seen.update(on_after_load=gc.isenabled(), ready=client.get("/readyz").status_code == 200,
                frozen=gc.get_freeze_count())
print(json.dumps(seen))
"""


@pytest.mark.parametrize("model_uri", [None, "models:/no-such-model/1"])
def test_the_service_collects_no_garbage_while_starting_and_resumes_after_the_first_load(service_env, model_uri):
    """Start-up runs without automatic collection (faster imports and unpickling: see serving/main.py); it must
    come back after the first load attempt even when that fails, or a service left waiting for a model would
    never free reference cycles."""
    env = {**service_env, **({"TRIASE_MODEL_URI": model_uri} if model_uri else {})}
    run = subprocess.run([sys.executable, "-c", GC_AT_START], env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["off_at_import"] and seen["on_after_load"]
    assert seen["ready"] is (model_uri is None)
    if model_uri is None:
        assert seen["frozen"] > 100_000  # the model's objects, out of the collector's view


def start_service(env: dict, tmp_path, *args: str) -> tuple[subprocess.Popen, str, str]:
    """`triase serve` on a free port with an admin key made beforehand; returns (process, base URL, key)."""
    made = subprocess.run(
        [BIN / "triase", "apikey", "create", "ops", "--role", "admin"], env=env, capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    port = free_port()
    out = open(tmp_path / f"serve-{port}.log", "w")  # noqa: SIM115 - closed when the test ends with the process
    proc = subprocess.Popen([BIN / "triase", "serve", "--port", str(port), *args], env=env, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/readyz", proc)
    return proc, base, made.stdout.strip()


def test_sigterm_under_load_finishes_in_flight_requests_and_loses_no_record(service_env, tmp_path):
    env = {**service_env, "TRIASE_RATE_LIMIT": ""}
    proc, base, key = start_service(env, tmp_path)
    outcomes: list[object] = []
    stop_at = time.monotonic() + 4.0

    def client_loop(n: int) -> None:
        i = 0
        while time.monotonic() < stop_at:
            body = (
                {"text": f"{TEXT} [{n}-{i}]"}
                if i % 3
                else {"items": [{"text": f"{TEXT} [{n}-{i}-{j}]"} for j in range(5)]}
            )
            path = "/v1/predict" if i % 3 else "/v1/predict/batch"
            try:
                r = httpx.post(f"{base}{path}", json=body, headers={"X-API-Key": key}, timeout=30)
                outcomes.append((r.status_code, 1 if i % 3 else 5))
            except httpx.TransportError:
                outcomes.append("refused")  # sent after the server stopped listening: never accepted
            i += 1

    import threading

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    proc.send_signal(15)  # SIGTERM, as an orchestrator sends it
    for t in threads:
        t.join()
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status says "terminated by SIGTERM".
    assert proc.wait(timeout=60) in (0, -15)
    answered = [o for o in outcomes if o != "refused"]
    assert answered and all(status == 200 for status, _ in answered), f"failed in flight: {answered}"
    from sqlalchemy import create_engine, text

    engine = create_engine(env["TRIASE_DATABASE_URL"])
    with engine.connect() as conn:
        stored = conn.execute(text("select count(*) from complaints")).scalar()
    engine.dispose()
    assert stored == sum(n for _, n in answered), "every answered prediction was recorded"


def test_schemathesis_finds_no_server_error_and_no_schema_violation(service_env, tmp_path):
    env = {**service_env, "TRIASE_RATE_LIMIT": ""}
    proc, base, key = start_service(env, tmp_path)
    report = tmp_path / "schemathesis.json"
    try:
        assert_without_pyarrow(proc.pid)
        run = subprocess.run(
            [
                BIN / "schemathesis", "run", f"{base}/openapi.json",
                "--header", f"X-API-Key: {key}",
                "--checks", "not_a_server_error,response_schema_conformance,status_code_conformance,"
                "content_type_conformance",
                "--max-examples", "500", "--workers", "1", "--seed", "20261128",
                "--report", "json", "--report-json-path", str(report),
            ],
            env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
    finally:
        stop(proc)
    summary = json.loads(report.read_text())
    assert run.returncode == 0, run.stdout[-4000:]
    assert summary["test_cases"]["generated"] >= 1000
    assert summary["test_cases"]["with_failures"] == 0 and summary["test_cases"]["errored"] == 0
