"""The prediction API in-process: every endpoint, every way a request can be refused, and access by role."""

from __future__ import annotations

import json
import logging
import queue
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serving.apikeys import ApiKeys
from serving.db import Database
from tests.serving_helpers import make_keys, serving_settings, started, wait_ready

pytestmark = pytest.mark.slow

FIRE = "tolong pak ada kebakaran di ruko sebelah rumah kami di Bengkong, apinya sudah besar!!"
ROAD = "Jalan di depan Perumahan Buana Vista Batu Aji berlubang besar, sudah dua motor jatuh minggu ini."


@pytest.fixture(scope="module")
def service(store, tmp_path_factory):
    settings = serving_settings(store[0], tmp_path_factory.mktemp("service"))
    keys = make_keys(settings)
    with started(settings) as client:
        wait_ready(client)
        yield client, keys, settings


@pytest.fixture
def api(service):
    client, keys, _ = service
    client.headers["X-API-Key"] = keys.intake
    yield client
    client.headers.pop("X-API-Key", None)


def test_predict_returns_routing_urgency_review_and_explanation(api, store):
    response = api.post("/v1/predict", json={"text": f"  {FIRE}  ", "id": "lapor-1", "channel": "whatsapp"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["opd"]["code"] == "pemadam-kebakaran"
    assert body["opd"]["name"] and 0 < body["opd"]["probability"] <= 1
    assert len(body["alternatives"]) == 2
    assert body["alternatives"][0]["code"] != body["opd"]["code"]
    assert body["urgency"]["label"] == "darurat"
    assert {f["rule"] for f in body["urgency_rules"]}, "a fire emergency must fire a safety rule"
    assert body["needs_review"] is True and "emergency_rule" in body["review_reasons"]
    assert any(t["word"].startswith("kebakaran") for t in body["explanation"]["opd"])
    assert body["model"] == {"name": "complaint-triage", "version": "1", "run_id": store[1].run_id}
    assert body["id"] == "lapor-1" and body["channel"] == "whatsapp"
    assert body["request_id"] == response.headers["x-request-id"]


def test_caller_request_id_is_kept(api):
    response = api.post("/v1/predict", json={"text": ROAD}, headers={"X-Request-ID": "intake-42"})
    assert response.json()["request_id"] == "intake-42" == response.headers["x-request-id"]


def test_batch_answers_valid_items_and_reports_invalid_ones_in_their_slot(api, service):
    settings = service[2]
    items = [
        {"text": ROAD, "id": "a"},
        {"text": "   "},
        "not an object",
        {"text": "lampu mati", "colour": "red"},
        {"text": "x" * (settings.max_text_chars + 1)},
        {"text": FIRE, "id": "f"},
    ]
    response = api.post("/v1/predict/batch", json={"items": items})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["succeeded"], body["failed"]) == (2, 4)
    slots = body["items"]
    assert [s["index"] for s in slots] == list(range(6))
    assert [s["ok"] for s in slots] == [True, False, False, False, False, True]
    assert slots[0]["result"]["id"] == "a" and slots[5]["result"]["opd"]["code"] == "pemadam-kebakaran"
    assert slots[1]["errors"][0]["field"] == "items.1.text"
    assert slots[2]["errors"][0]["field"] == "items.2"
    assert slots[3]["errors"][0]["field"] == "items.3.colour"
    assert slots[4]["errors"][0] == {
        "field": "items.4.text",
        "reason": f"String should have at most {settings.max_text_chars} characters",
        "type": "string_too_long",
    }


def test_batch_and_single_agree(api):
    single = api.post("/v1/predict", json={"text": ROAD}).json()
    batch = api.post("/v1/predict/batch", json={"items": [{"text": ROAD}]}).json()["items"][0]["result"]
    for key in ("opd", "alternatives", "urgency", "needs_review", "review_reasons", "explanation"):
        assert batch[key] == single[key]


@pytest.mark.parametrize(
    ("body", "field", "kind"),
    [
        ({}, "text", "missing"),
        ({"text": ""}, "text", "string_too_short"),
        ({"text": " \n\t "}, "text", "string_too_short"),
        ({"text": 42}, "text", "string_type"),
        ({"text": None}, "text", "string_type"),
        ({"text": "lampu mati", "urgent": True}, "urgent", "extra_forbidden"),
        ({"text": "lampu mati", "id": "x" * 201}, "id", "string_too_long"),
        ({"text": "lampu mati", "metadata": "not-an-object"}, "metadata", "dict_type"),
        ([{"text": "lampu mati"}], "body", "model_attributes_type"),
    ],
)
def test_predict_rejects_bad_fields_naming_them(api, body, field, kind):
    response = api.post("/v1/predict", json=body)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert (error["field"], error["type"]) == (field, kind)
    assert error["reason"]


def test_text_longer_than_the_limit_is_refused(api, service):
    limit = service[2].max_text_chars
    assert api.post("/v1/predict", json={"text": "a " * (limit // 2)}).status_code == 200
    response = api.post("/v1/predict", json={"text": "a" * (limit + 1)})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "text"
    assert "a" * 100 not in response.text, "the offending input is not echoed back"


def test_malformed_json_is_a_422_not_a_500(api):
    response = api.post("/v1/predict", content=b'{"text": "lampu', headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_batch_limits(api, service):
    limit = service[2].max_batch_items
    assert api.post("/v1/predict/batch", json={"items": []}).json()["detail"][0]["field"] == "items"
    response = api.post("/v1/predict/batch", json={"items": [{"text": "lampu"}] * (limit + 1)})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["field"] == "items" and str(limit) in error["reason"]


def test_oversized_body_is_413_declared_or_chunked(api, service):
    limit = service[2].max_body_bytes
    big = json.dumps({"text": "a" * (limit + 10)}).encode()
    declared = api.post("/v1/predict", content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413 and "bytes" in declared.json()["detail"]

    def chunks():  # no Content-Length: sent with Transfer-Encoding: chunked
        for i in range(0, len(big), 64 * 1024):
            yield big[i : i + 64 * 1024]

    chunked = api.post("/v1/predict", content=chunks(), headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413
    assert chunked.json()["request_id"] == chunked.headers["x-request-id"]


def test_unknown_route_and_method_are_json(api):
    assert api.get("/v1/nothing").json()["detail"] == "Not Found"
    assert api.get("/v1/predict").status_code == 405


def test_model_info_describes_what_is_served(api, store):
    body = api.get("/v1/model").json()
    result = store[1]
    assert (body["version"], body["run_id"]) == ("1", result.run_id)
    assert body["uri"] == "models:/complaint-triage/1"
    assert body["training_metrics"]["opd_accuracy"] == pytest.approx(result.metrics["opd"]["accuracy"])
    assert set(body["opd_labels"]) == set(result.model.opd_classes)
    assert body["urgency_labels"] and set(body["thresholds"]) <= set(body["opd_labels"])
    assert body["target_precision"] == 0.95
    assert body["status"]["source"] == "models:/complaint-triage@champion"
    assert body["status"]["last_error"] is None


def test_taxonomy(api):
    body = api.get("/v1/taxonomy").json()
    assert body["urgency_levels"] == ["darurat", "tinggi", "sedang", "rendah"]
    codes = {o["code"] for o in body["opd"]}
    assert {"pemadam-kebakaran", "dukcapil"} <= codes and all(o["name"] for o in body["opd"])


def test_health_ready_and_openapi_need_no_key(service):
    client = service[0]
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    spec = client.get("/openapi.json").json()
    assert {"/v1/predict", "/v1/predict/batch", "/v1/model", "/v1/taxonomy", "/v1/admin/reload"} <= set(spec["paths"])
    example = spec["components"]["schemas"]["PredictRequest"]["examples"][0]
    assert example["text"]


# --- access -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/model", "/v1/taxonomy"])
def test_missing_or_wrong_key_is_401(service, path):
    client = service[0]
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"X-API-Key": "tri_00000000_wrong"}).status_code == 401
    assert client.get(path, headers={"X-API-Key": "garbage"}).status_code == 401
    assert client.post("/v1/predict", json={"text": "x"}).status_code == 401


def test_auth_is_checked_before_the_body(service):
    # An anonymous caller learns nothing about validation; it is refused first.
    assert service[0].post("/v1/predict", json={"bogus": 1}).status_code == 401


def test_intake_key_cannot_reload(service):
    client, keys, _ = service
    response = client.post("/v1/admin/reload", headers={"X-API-Key": keys.intake})
    assert response.status_code == 403 and "admin" in response.json()["detail"]
    response = client.post("/v1/admin/reload", headers={"X-API-Key": keys.admin})
    assert response.status_code == 200 and response.json()["outcome"] == "unchanged"


def test_revoked_key_is_refused_once_the_recheck_time_has_passed(service):
    client, _, settings = service
    db = Database(settings.database_url)
    keys = ApiKeys(db)
    key, info = keys.create("short-lived", "intake")
    assert client.get("/v1/taxonomy", headers={"X-API-Key": key}).status_code == 200
    keys.revoke(info.prefix)  # from outside the service, as `triase apikey revoke` does
    assert client.get("/v1/taxonomy", headers={"X-API-Key": key}).status_code == 200  # still trusted a moment
    time.sleep(settings.key_recheck_seconds)
    response = client.get("/v1/taxonomy", headers={"X-API-Key": key})
    assert response.status_code == 401 and "revoked" in response.json()["detail"]
    assert not next(k for k in keys.list() if k.name == "short-lived").active
    db.dispose()


def test_keys_are_stored_only_as_hashes(service):
    _, keys, settings = service
    raw = Database(settings.database_url)
    with raw.engine.connect() as conn:
        stored = " ".join(str(v) for row in conn.exec_driver_sql("select * from api_keys") for v in row)
    raw.dispose()
    assert keys.intake not in stored and keys.intake.split("_")[2] not in stored


# --- operations ---------------------------------------------------------------------------------------------


def test_metrics_count_requests_predictions_and_the_model(api):
    before = api.get("/metrics").text
    api.post("/v1/predict", json={"text": FIRE})
    text = api.get("/metrics").text
    assert 'triase_http_requests_total{method="POST",route="/v1/predict",status="200"}' in text
    assert "triase_http_request_duration_seconds_bucket" in text
    assert 'triase_predictions_total{opd="pemadam-kebakaran",urgency="darurat"}' in text
    assert 'triase_review_reasons_total{reason="emergency_rule"}' in text
    assert 'triase_model_info{name="complaint-triage",run_id="' in text and 'version="1"} 1.0' in text

    def count(exposition: str) -> float:
        line = [x for x in exposition.splitlines() if x.startswith("triase_predictions_needs_review_total")]
        return float(line[0].split()[-1]) if line else 0.0

    assert count(text) == count(before) + 1


def test_complaint_text_never_reaches_the_logs(api, caplog):
    secret = (
        "Nama saya Siti Rahmawati NIK 2171011203900004 telepon 081266554433 surel siti.rahma@contoh.id rumah kebanjiran"
    )
    with caplog.at_level(logging.INFO, logger="triase"):
        response = api.post("/v1/predict", json={"text": secret, "id": "wa 081266554433"})
        api.post("/v1/predict", json={"text": secret, "bogus": True})
    assert response.status_code == 200
    logged = " ".join(str(r.__dict__) for r in caplog.records)
    # The request's one log line says what was predicted, by a fingerprint of the text.
    (line,) = [r for r in caplog.records if getattr(r, "route", None) == "/v1/predict" and r.status == 200]
    assert (line.request_id, line.opd, line.text_chars) == (
        response.json()["request_id"],
        response.json()["opd"]["code"],
        len(secret),
    )
    assert len(line.text_sha256) == 16
    for fragment in ("Siti", "Rahmawati", "2171011203900004", "081266554433", "siti.rahma@contoh.id", "kebanjiran"):
        assert fragment not in logged


@pytest.fixture
def log_stream():
    """The service's JSON logging, written to a string instead of stderr; the normal set-up again afterwards."""
    import io
    import logging.config

    from serving.logs import configure_logging, log_config

    stream = io.StringIO()
    config = log_config()
    config["handlers"]["stderr"]["stream"] = stream
    logging.config.dictConfig(config)
    yield stream
    configure_logging()


def test_json_log_lines_carry_the_request_id(log_stream):
    from serving.logs import request_id_var

    token = request_id_var.set("req-7")
    try:
        logging.getLogger("triase.test").info("hello", extra={"opd": "dukcapil"})
    finally:
        request_id_var.reset(token)
    line = json.loads(log_stream.getvalue().splitlines()[-1])
    assert line["request_id"] == "req-7" and line["level"] == "INFO" and line["message"] == "hello"
    assert line["opd"] == "dukcapil" and line["logger"] == "triase.test"


def test_background_logging_keeps_the_request_id_and_writes_everything_by_exit(log_stream):
    from serving.logs import logging_in_background, request_id_var

    logger = logging.getLogger("triase.test")
    with logging_in_background():
        for i in range(200):
            token = request_id_var.set(f"req-{i}")
            logger.info("queued", extra={"n": i})
            request_id_var.reset(token)
    written = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    assert [(line["n"], line["request_id"]) for line in written] == [(i, f"req-{i}") for i in range(200)]
    # Afterwards lines are written at once again, still with their request id.
    token = request_id_var.set("after")
    logger.info("direct")
    request_id_var.reset(token)
    assert json.loads(log_stream.getvalue().splitlines()[-1])["request_id"] == "after"


def test_the_log_thread_takes_queued_records_together():
    # Woken for every record, the log thread took the interpreter from the requests twice per prediction.
    from serving.logs import _BatchingListener

    class CountingQueue(queue.Queue):
        blocking_gets = 0

        def get(self, block=True, timeout=None):
            self.blocking_gets += block
            return super().get(block, timeout)

    written = []

    class Collect(logging.Handler):
        def emit(self, record):
            written.append(record.getMessage())

    q = CountingQueue()
    listener = _BatchingListener(q, Collect(), linger=0.05)
    listener.start()
    for i in range(50):
        q.put(logging.makeLogRecord({"msg": f"line {i}"}))
        time.sleep(0.0005)
    listener.stop()
    assert written == [f"line {i}" for i in range(50)]
    assert q.blocking_gets <= 5, f"{q.blocking_gets} wake-ups for 50 records"


# --- whatever arrives, the answer is a 4xx or a prediction, never a 500 -------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
bodies = json_values | st.fixed_dictionaries(
    {"text": st.text(max_size=200)},
    optional={"id": json_values, "channel": json_values, "metadata": json_values, "extra": json_values},
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_any_json_body_gets_a_prediction_or_a_named_4xx(api, body):
    response = api.post("/v1/predict", json=body)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert all(e["field"] and e["reason"] for e in response.json()["detail"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(bodies, min_size=1, max_size=5))
def test_any_batch_gets_one_slot_per_item(api, items):
    response = api.post("/v1/predict/batch", json={"items": items})
    assert response.status_code == 200, response.text
    assert [s["index"] for s in response.json()["items"]] == list(range(len(items)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300))
def test_any_bytes_get_a_4xx(api, raw):
    response = api.post("/v1/predict", content=raw, headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500 or response.status_code == 200


def test_lone_surrogates_are_refused_not_crashed_on(api):
    body = b'{"text": "lampu mati \\ud800", "id": "\\udfff"}'
    response = api.post("/v1/predict", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["detail"]} == {"text", "id"}


def test_the_loaded_model_is_kept_out_of_garbage_collection(service):
    """A full collection that walks the model's objects pauses every waiting request for 150-250 ms."""
    import gc

    holder = service[0].app.state.service.holder
    assert holder.current is not None and gc.get_freeze_count() > 100_000
    assert not any(obj is holder.current.model.opd for obj in gc.get_objects(generation=2))


def test_concurrent_predictions_each_get_their_own_answer(service):
    """Requests arriving together share model calls; each must still get its own text's prediction."""
    from concurrent.futures import ThreadPoolExecutor

    client, keys, _ = service
    texts = [FIRE, ROAD] * 8
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda t: client.post("/v1/predict", json={"text": t}, headers={"X-API-Key": keys.intake}), texts)
        )
    assert [a.json()["opd"]["code"] for a in answers] == ["pemadam-kebakaran", "bina-marga-sda"] * 8
