"""The review pages through HTTP (no browser): login, CSRF, decisions, roles, escaping, headers — on SQLite and
on PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from serving.db import Complaint
from serving.users import Users
from tests.review_helpers import record
from tests.serving_helpers import make_keys, serving_settings, started, wait_ready

pytestmark = pytest.mark.slow

HOSTILE = "Lampu mati <script>window.pwned=1</script><img src=x onerror=alert(1)> & \"kutip\" 'satu'"


@pytest.fixture
def app(store, tmp_path, database_url):
    settings = serving_settings(store[0], tmp_path, database_url=database_url)
    keys = make_keys(settings)
    with started(settings) as client:
        wait_ready(client)
        users = Users(client.app.state.db)
        users.create("ani", "sandi-ani-123", "reviewer")
        users.create("budi", "sandi-budi-123", "admin")
        yield client, keys


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(client, username, password, next_path="/review"):
    token = csrf_of(client.get("/review/login").text)
    return client.post(
        "/review/login",
        data={"username": username, "password": password, "csrf": token, "next": next_path},
        follow_redirects=False,
    )


def predicted(client, keys, *texts) -> list[int]:
    for t in texts:
        assert client.post("/v1/predict", json={"text": t}, headers={"X-API-Key": keys.intake}).status_code == 200
    assert client.app.state.service.recorder.wait_idle()
    with client.app.state.db.session() as s:
        return list(s.scalars(select(Complaint.id).order_by(Complaint.id)))


def test_pages_need_a_login_and_send_security_headers(app):
    client, _ = app
    response = client.get("/review/dashboard", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/review/login?next=%2Freview%2Fdashboard"
    page = client.get("/review/login")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
    assert 'lang="id"' in page.text and "Kata sandi" in page.text


def test_login_wrong_password_csrf_and_logout(app):
    client, _ = app
    assert login(client, "ani", "salah-sekali").status_code == 401
    no_token = client.post("/review/login", data={"username": "ani", "password": "sandi-ani-123"})
    assert no_token.status_code == 403
    ok = login(client, "ani", "sandi-ani-123", next_path="/review/dashboard")
    assert ok.status_code == 303 and ok.headers["location"] == "/review/dashboard"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert login(client, "ani", "sandi-ani-123", next_path="https://evil.example/").headers["location"] == "/review"
    assert client.get("/review").status_code == 200
    token = csrf_of(client.get("/review").text)
    assert client.post("/review/logout", data={"csrf": "wrong"}).status_code == 403
    client.post("/review/logout", data={"csrf": token})
    assert client.get("/review", follow_redirects=False).status_code == 303


def test_correct_a_suggestion_and_see_it_in_the_audit_trail_and_dashboard(app):
    client, keys = app
    (cid,) = predicted(client, keys, "Lampu jalan di Batu Aji mati total sejak minggu lalu")
    login(client, "ani", "sandi-ani-123")
    page = client.get(f"/review/complaints/{cid}").text
    assert "<mark>" in page, "explanation words are highlighted"
    done = client.post(
        f"/review/complaints/{cid}/correct",
        data={"opd": "bina-marga-sda", "urgency": "tinggi", "note": "jalan, bukan lampu", "csrf": csrf_of(page)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = client.get(f"/review/complaints/{cid}").text
    assert "Ditinjau oleh <strong>ani</strong>" in page and "koreksi" in page and "jalan, bukan lampu" in page
    again = client.post(f"/review/complaints/{cid}/accept", data={"csrf": csrf_of(page)})
    assert again.status_code == 409 and "sudah ditinjau" in again.text
    dashboard = client.get("/review/dashboard").text
    assert 'id="reviewed">1<' in dashboard and 'id="agreement-rate">0%<' in dashboard and "<svg" in dashboard


def test_decisions_need_the_csrf_token(app):
    client, keys = app
    (cid,) = predicted(client, keys, "Sampah menumpuk di pasar")
    login(client, "ani", "sandi-ani-123")
    assert client.post(f"/review/complaints/{cid}/accept", data={}).status_code == 403
    assert client.post(f"/review/complaints/{cid}/accept", data={"csrf": "x" * 43}).status_code == 403
    assert "Belum ada perubahan" in client.get(f"/review/complaints/{cid}").text


def test_only_admins_reopen(app):
    client, keys = app
    (cid,) = predicted(client, keys, "Air PDAM keruh")
    login(client, "ani", "sandi-ani-123")
    page = client.get(f"/review/complaints/{cid}").text
    client.post(f"/review/complaints/{cid}/accept", data={"csrf": csrf_of(page)})
    page = client.get(f"/review/complaints/{cid}").text
    assert "Buka kembali" not in page
    refused = client.post(f"/review/complaints/{cid}/reopen", data={"csrf": csrf_of(page)})
    assert refused.status_code == 409 and "admin" in refused.text
    login(client, "budi", "sandi-budi-123")
    page = client.get(f"/review/complaints/{cid}").text
    client.post(f"/review/complaints/{cid}/reopen", data={"csrf": csrf_of(page), "note": "cek lagi"})
    page = client.get(f"/review/complaints/{cid}").text
    assert "Terima saran" in page and "buka-ulang" in page and "cek lagi" in page


def test_disabled_staff_lose_their_session(app):
    client, _ = app
    login(client, "ani", "sandi-ani-123")
    assert client.get("/review").status_code == 200
    Users(client.app.state.db).disable("ani")
    assert client.get("/review", follow_redirects=False).status_code == 303


def test_hostile_text_is_stored_verbatim_and_shown_escaped(app):
    client, keys = app
    (cid,) = predicted(client, keys, HOSTILE)
    login(client, "ani", "sandi-ani-123")
    for page in (client.get("/review").text, client.get(f"/review/complaints/{cid}").text):
        assert "<script>window.pwned" not in page and "<img src=x" not in page
        assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in page
    with client.app.state.db.session() as s:
        assert s.get(Complaint, cid).text == HOSTILE


def test_queue_filters_and_search_through_the_page(app):
    client, _ = app
    client.app.state.service.recorder.submit(
        [
            record(1, "Parkir liar di trotoar Nagoya"),
            record(2, "Kebakaran lahan dekat bandara", "pemadam-kebakaran", "darurat", needs_review=True),
            record(3, "Pungli 100% nyata di kantor", "satpol-pp"),
        ]
    )
    assert client.app.state.service.recorder.wait_idle()
    login(client, "ani", "sandi-ani-123")

    def rows(**params):
        return re.findall(r"<td class=\"excerpt\"><a [^>]+>([^<]+)</a>", client.get("/review", params=params).text)

    assert rows()[0].startswith("Kebakaran"), "review cases and emergencies first"
    assert rows(opd="satpol-pp") == ["Pungli 100% nyata di kantor"]
    assert rows(urgency="darurat") == ["Kebakaran lahan dekat bandara"]
    assert rows(q="trotoar") == ["Parkir liar di trotoar Nagoya"]
    assert rows(q="100%") == ["Pungli 100% nyata di kantor"]
    assert rows(dari="2030-01-01") == []
    assert client.get("/review", params={"dari": "not-a-date", "opd": "<x>"}).status_code == 200
