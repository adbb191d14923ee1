"""Staff corrections make the next model better: predictions through the API, corrections in the review pages,
`triase feedback export`, `triase train --feedback`, and the corrected complaints are then predicted as corrected."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from serving.users import Users
from tests.conftest import client_for
from tests.serving_helpers import make_keys, serving_settings, started, wait_ready
from training.cli import app as cli
from training.settings import get_settings
from training.tracking import load_model

pytestmark = pytest.mark.slow

# Complaints whose suggested OPD a reviewer overrides, with the OPD they choose (or the second if it is the one
# suggested): the new model must follow the reviewers.
CORRECTIONS = [
    ("Tetangga di Griya Batu Aji pelihara puluhan ayam jago, kotorannya bau tiap pagi. WA saya 081277001122",
     ["satpol-pp", "kewilayahan"]),
    ("Kabel fiber optik menjuntai rendah di Jl. Laksamana Bintan, truk tinggi bisa tersangkut",
     ["kominfo", "perhubungan"]),
    ("Anak berseragam sekolah nongkrong merokok di halte Simpang Kara waktu jam pelajaran",
     ["pendidikan", "satpol-pp"]),
]  # fmt: skip


def test_corrections_flow_back_into_the_next_model(store, tmp_path, monkeypatch):
    settings = serving_settings(store[0], tmp_path, copy_store=True)
    keys = make_keys(settings)
    wanted = {}
    with started(settings) as client:
        wait_ready(client)
        Users(client.app.state.db).create("ani", "sandi-ani-123", "reviewer")
        for text, choices in CORRECTIONS:
            r = client.post("/v1/predict", json={"text": text}, headers={"X-API-Key": keys.intake}).json()
            wanted[text] = choices[0] if choices[0] != r["opd"]["code"] else choices[1]
        assert client.app.state.service.recorder.wait_idle()
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/review/login").text).group(1)
        client.post("/review/login", data={"username": "ani", "password": "sandi-ani-123", "csrf": token})
        from serving.db import Complaint

        with client.app.state.db.session() as s:
            rows = {c.text: c.id for c in s.query(Complaint)}
        for text, opd in wanted.items():
            page = client.get(f"/review/complaints/{rows[text]}").text
            token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
            done = client.post(
                f"/review/complaints/{rows[text]}/correct",
                data={"opd": opd, "urgency": "sedang", "csrf": token},
                follow_redirects=False,
            )
            assert done.status_code == 303

    monkeypatch.setenv("TRIASE_TRACKING_URI", settings.tracking_uri)
    monkeypatch.setenv("TRIASE_ARTIFACT_ROOT", str(settings.artifact_root))
    monkeypatch.setenv("TRIASE_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    runner = CliRunner()
    exported = tmp_path / "feedback.csv"
    result = runner.invoke(cli, ["feedback", "export", "--output", str(exported)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(exported)
    assert len(frame) == 3 and set(frame["opd"]) == set(wanted.values())
    assert not frame["text"].str.contains("081277001122").any() and frame["text"].str.contains("_telepon_").any()

    result = runner.invoke(cli, ["train", "--feedback", "--force"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    registry = client_for(settings)
    latest = max(registry.search_model_versions(f"name='{settings.registered_model}'"), key=lambda v: int(v.version))
    assert registry.get_run(latest.run_id).data.params["feedback_rows"] == "3", "the run says what came from review"
    model = load_model(f"models:/{settings.registered_model}/{latest.version}", registry)
    predicted = {text: p.opd.code for text, p in zip(wanted, model.predict(list(wanted)), strict=True)}
    assert predicted == wanted
