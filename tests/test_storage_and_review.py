"""Prediction records, review decisions, audit trail, dashboard figures and the feedback export, on SQLite and
on PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

from model.taxonomy import default_taxonomy
from serving import review
from serving.db import AuditEvent, Complaint, Database, User
from serving.metrics import Metrics
from serving.recorder import Recorder
from serving.users import Users
from tests.conftest import POSTGRES_URL
from tests.review_helpers import record

TAX = default_taxonomy()


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def recorder(db):
    rec = Recorder(db, Metrics())
    rec.start()
    yield rec
    rec.stop(timeout=5)


@pytest.fixture
def staff(db):
    users = Users(db)
    return users.create("ani", "kata-sandi-1", "reviewer"), users.create("budi", "kata-sandi-2", "admin")


def count(db, model=Complaint) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_migrations_are_repeatable(db):
    db.migrate()
    assert count(db) == 0


def test_recorder_writes_every_record_once(db, recorder):
    records = [record(i, f"lampu jalan mati nomor {i}") for i in range(450)]
    for start in range(0, 450, 50):
        recorder.submit(records[start : start + 50])
    recorder.submit(records[:3])  # the same records again, as after a lost commit acknowledgement
    assert recorder.wait_idle(20)
    assert count(db) == 450


def test_records_arriving_together_share_a_transaction(db, recorder):
    commits = []
    event.listen(db.engine, "commit", lambda conn: commits.append(1))
    for i in range(40):  # one request's record at a time, as the API submits them, about 1,000 a second
        recorder.submit([record(i, f"jalan berlubang nomor {i}")])
        time.sleep(0.001)
    assert recorder.wait_idle(20)
    assert count(db) == 40
    assert len(commits) <= 5, f"{len(commits)} transactions for 40 records submitted together"


def test_records_arriving_one_by_one_do_not_wake_the_writer_each_time(db):
    # The writer shares the interpreter with the requests: it should wake to start a batch, not for every record.
    waits = []

    class CountingCondition(threading.Condition):
        def wait(self, timeout=None):
            waits.append(timeout)
            return super().wait(timeout)

    rec = Recorder(db, Metrics(), linger=0.2)
    rec._wake = CountingCondition()
    rec.start()
    try:
        for i in range(40):
            rec.submit([record(i, f"trotoar rusak nomor {i}")])
            time.sleep(0.001)
        assert rec.wait_idle(20)
    finally:
        rec.stop(timeout=5)
    assert count(db) == 40
    assert len(waits) <= 6, f"the writer waited {len(waits)} times for 40 records"


def test_queue_puts_review_cases_first_then_urgency_then_low_confidence(db, recorder, staff):
    recorder.submit(
        [
            record(1, "Parkir liar di depan ruko", p=0.9),
            record(2, "Kebakaran gudang", "pemadam-kebakaran", "darurat", p=0.9),
            record(3, "Pohon tumbang menimpa kabel", "lingkungan-hidup", "tinggi", p=0.4, needs_review=True),
            record(4, "Ular masuk rumah", "pemadam-kebakaran", "darurat", p=0.5, needs_review=True),
            record(5, "Sampah belum diangkut", "lingkungan-hidup", "sedang", p=0.3, needs_review=True),
            record(6, "Terima kasih pak", "lainnya", "rendah", p=0.35, needs_review=True),
        ]
    )
    assert recorder.wait_idle()
    ids = lambda page: [c.record_id for c in page.items]  # noqa: E731
    assert ids(review.queue(db, review.Filters())) == ["req-4", "req-3", "req-5", "req-6", "req-2", "req-1"]
    first = review.queue(db, review.Filters()).items[0]
    review.decide(db, TAX, first.id, staff[0])
    assert ids(review.queue(db, review.Filters()))[-1] == "req-4", "reviewed complaints go to the end"


def test_filters(db, recorder):
    recorder.submit(
        [
            record(1, "Lampu lalu lintas mati 100% gelap", day=0),
            record(2, "Air tidak mengalir", "air-bersih", "tinggi", day=1),
            record(3, "Air keruh_kuning", "air-bersih", "sedang", day=3, needs_review=True),
        ]
    )
    assert recorder.wait_idle()

    def found(**kw):
        return sorted(c.record_id for c in review.queue(db, review.Filters(**kw)).items)

    assert found(opd="air-bersih") == ["req-2", "req-3"]
    assert found(urgency="tinggi") == ["req-2"]
    assert found(date_from=date(2026, 11, 3), date_to=date(2026, 11, 3)) == ["req-2"]
    assert found(q="AIR") == ["req-2", "req-3"]
    assert found(q="100%") == ["req-1"] and found(q="%") == ["req-1"], "% is matched literally"
    assert found(q="_") == ["req-3"], "_ is matched literally"
    assert found(q="ext-2") == ["req-2"], "external ids are searchable"
    assert found(status="ditinjau") == []


def test_paging(db, recorder):
    recorder.submit([record(i, f"jalan rusak {i}") for i in range(review.PAGE_SIZE + 5)])
    assert recorder.wait_idle()
    second = review.queue(db, review.Filters(page=2))
    assert (second.total, second.pages, len(second.items)) == (review.PAGE_SIZE + 5, 2, 5)
    assert review.queue(db, review.Filters(page=99)).page == 2


def test_decisions_are_audited_and_reopen_is_for_admins(db, recorder, staff):
    reviewer, admin = staff
    recorder.submit([record(1, "Jalan berlubang besar"), record(2, "Lampu PJU mati")])
    assert recorder.wait_idle()
    first, second = sorted(review.queue(db, review.Filters()).items, key=lambda c: c.record_id)

    accepted = review.decide(db, TAX, first.id, reviewer)
    assert (accepted.status, accepted.final_opd, accepted.accepted, accepted.reviewed_by) == (
        "ditinjau", "perhubungan", True, "ani")  # fmt: skip
    corrected = review.decide(db, TAX, second.id, reviewer, opd="bina-marga-sda", urgency="tinggi", note=" cek ")
    assert (corrected.final_opd, corrected.final_urgency, corrected.accepted, corrected.note) == (
        "bina-marga-sda", "tinggi", False, "cek")  # fmt: skip

    with pytest.raises(review.ReviewError, match="sudah ditinjau"):
        review.decide(db, TAX, second.id, reviewer, opd="sosial")
    with pytest.raises(review.ReviewError, match="admin"):
        review.reopen(db, second.id, reviewer)
    reopened = review.reopen(db, second.id, admin, note="salah pilih")
    assert (reopened.status, reopened.final_opd, reopened.accepted) == ("baru", None, None)
    trail = [(e.action, e.username, e.before["opd"], e.after["opd"]) for e in reopened.events]
    assert trail == [("koreksi", "ani", None, "bina-marga-sda"), ("buka-ulang", "budi", "bina-marga-sda", None)]


def test_a_refused_decision_changes_nothing(db, recorder, staff):
    recorder.submit([record(1, "Jalan berlubang")])
    assert recorder.wait_idle()
    (c,) = review.queue(db, review.Filters()).items
    with pytest.raises(review.ReviewError, match="taksonomi"):
        review.decide(db, TAX, c.id, staff[0], opd="dinas-fiktif")
    with pytest.raises(review.ReviewError, match="urgensi"):
        review.decide(db, TAX, c.id, staff[0], urgency="segera")
    after = review.get(db, c.id)
    assert (after.status, after.final_opd, after.events) == ("baru", None, [])
    assert count(db, AuditEvent) == 0


def test_concurrent_decisions_on_one_complaint_leave_one_decision(db, recorder, staff):
    recorder.submit([record(1, "Drainase tersumbat")])
    assert recorder.wait_idle()
    (c,) = review.queue(db, review.Filters()).items
    outcomes = []

    def decide(opd):
        try:
            review.decide(db, TAX, c.id, staff[0], opd=opd)
            outcomes.append("ok")
        except review.ReviewError as exc:  # the loser is told it was already reviewed
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=decide, args=(o,)) for o in ("bina-marga-sda", "lingkungan-hidup")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1
    assert count(db, AuditEvent) == 1


def test_dashboard_figures(db, recorder, staff):
    recorder.submit(
        [
            record(1, "a satu", "perhubungan", needs_review=True, version="1"),
            record(2, "b dua", "perhubungan", version="1"),
            record(3, "c tiga", "air-bersih", "tinggi", version="2", day=1),
            record(4, "d empat", "air-bersih", "darurat", version="2", day=1, needs_review=True),
        ]
    )
    assert recorder.wait_idle()
    by_record = {c.record_id: c.id for c in review.queue(db, review.Filters()).items}
    review.decide(db, TAX, by_record["req-1"], staff[0])
    review.decide(db, TAX, by_record["req-2"], staff[0], opd="satpol-pp")
    review.decide(db, TAX, by_record["req-3"], staff[0])
    d = review.dashboard(db, days=100_000)
    assert (d.total, d.reviewed) == (4, 3)
    assert d.needs_review_rate == pytest.approx(0.5)
    assert d.agreement_rate == pytest.approx(2 / 3)
    assert [n for _, n in d.per_day] == [2, 2]
    assert dict(d.by_opd) == {"perhubungan": 2, "air-bersih": 2}
    assert dict(d.by_urgency) == {"darurat": 1, "tinggi": 1, "sedang": 2, "rendah": 0}
    assert d.agreement_by_opd == [("air-bersih", 1, 1.0), ("perhubungan", 2, 0.5)]
    assert d.agreement_by_version == [("1", 2, 0.5), ("2", 1, 1.0)]


def test_feedback_export_masks_identifiers_and_keeps_the_latest_decision(db, recorder, staff):
    reviewer, admin = staff
    recorder.submit(
        [
            record(1, "Saya Wati, HP 0812-7788-9900, NIK 2171015506880002: KTP belum jadi", "dukcapil"),
            record(2, "Jalan   rusak parah"),
            record(3, "Belum ditinjau"),
        ]
    )
    assert recorder.wait_idle()
    ids = {c.record_id: c.id for c in review.queue(db, review.Filters()).items}
    review.decide(db, TAX, ids["req-1"], reviewer)
    review.decide(db, TAX, ids["req-2"], reviewer, opd="perhubungan")
    review.reopen(db, ids["req-2"], admin)
    review.decide(db, TAX, ids["req-2"], admin, opd="bina-marga-sda", urgency="tinggi")
    frame = review.feedback_frame(db)
    assert list(frame.columns) == ["id", "text", "opd", "urgency", "channel", "created_at"]
    assert len(frame) == 2
    rows = frame.set_index("opd")
    assert "0812" not in rows.loc["dukcapil", "text"] and "2171015506880002" not in rows.loc["dukcapil", "text"]
    assert "_telepon_" in rows.loc["dukcapil", "text"] and "_nik_" in rows.loc["dukcapil", "text"]
    assert (
        rows.loc["bina-marga-sda", "urgency"] == "tinggi" and rows.loc["bina-marga-sda", "text"] == "Jalan rusak parah"
    )
    assert review.feedback_frame(db, since=date(2999, 1, 1)).empty


def test_staff_passwords_are_argon2_hashes(db):
    users = Users(db)
    users.create("sari", "rahasia-sekali", "reviewer")
    with db.session() as s:
        stored = s.scalar(select(User.password_hash).where(User.username == "sari"))
    assert stored.startswith("$argon2") and "rahasia" not in stored
    assert users.authenticate("sari", "rahasia-sekali").role == "reviewer"
    assert users.authenticate("sari", "salah") is None and users.authenticate("tidak-ada", "x") is None
    users.disable("sari")
    assert users.authenticate("sari", "rahasia-sekali") is None


def test_records_wait_out_a_database_outage(postgres_url):
    """PostgreSQL refuses all connections for a while: records queue up, then all arrive, none twice."""
    database_url = postgres_url
    db = Database(database_url)
    db.migrate()
    metrics = Metrics()
    rec = Recorder(db, metrics, max_backoff=0.5)
    rec.start()
    name = make_url(database_url).database
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        rec.submit([record(i, f"banjir di perumahan {i}") for i in range(20)])
        assert not rec.wait_idle(3), "nothing can be written while the database is down"
        assert rec.pending == 20 and metrics.record_write_failures._value.get() >= 1
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        admin.dispose()
    assert rec.wait_idle(30)
    rec.stop()
    assert count(db) == 20
    db.dispose()
