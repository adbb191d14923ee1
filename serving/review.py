"""The review queue, decisions with their audit trail, dashboard figures and the feedback export.

Every decision is one transaction: the complaint's new state and its audit event are written together or
not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import pandas as pd
from sqlalchemy import Select, case, func, or_, select, update

from model.normalize import mask_identifiers
from model.taxonomy import URGENCY_LEVELS, Taxonomy
from serving.db import AuditEvent, Complaint, Database, utcnow
from serving.users import Staff

STATUSES = ("baru", "ditinjau")
PAGE_SIZE = 25


class ReviewError(ValueError):
    pass


@dataclass(frozen=True)
class Filters:
    opd: str | None = None
    urgency: str | None = None
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None
    page: int = 1

    def apply(self, query: Select) -> Select:
        if self.opd:
            query = query.where(Complaint.opd == self.opd)
        if self.urgency:
            query = query.where(Complaint.urgency == self.urgency)
        if self.status:
            query = query.where(Complaint.status == self.status)
        if self.date_from:
            query = query.where(Complaint.received_at >= datetime.combine(self.date_from, time(), timezone.utc))
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time(), timezone.utc)
            query = query.where(Complaint.received_at < end)
        if self.q:
            pattern = "%" + self.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(
                or_(Complaint.text.ilike(pattern, escape="\\"), Complaint.external_id.ilike(pattern, escape="\\"))
            )
        return query


@dataclass
class Page:
    items: list[Complaint]
    total: int
    page: int
    pages: int


def queue(db: Database, filters: Filters) -> Page:
    """Complaints needing review first, then the most urgent, then the least confident suggestion."""
    base = filters.apply(select(Complaint))
    with db.session() as session:
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, filters.page), pages)
        order = (
            case((Complaint.status == "baru", 0), else_=1),
            Complaint.needs_review.desc(),
            Complaint.urgency_rank,
            Complaint.opd_probability,
            Complaint.id,
        )
        items = list(session.scalars(base.order_by(*order).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    return Page(items, total, page, pages)


def get(db: Database, complaint_id: int) -> Complaint | None:
    with db.session() as session:
        complaint = session.get(Complaint, complaint_id)
        if complaint is not None:
            complaint.events  # noqa: B018 - load the audit trail while the session is open
        return complaint


def _state(c: Complaint) -> dict:
    return {"status": c.status, "opd": c.final_opd, "urgency": c.final_urgency, "accepted": c.accepted}


def _claim(session, complaint_id: int, from_status: str, to_status: str) -> Complaint:
    """Move a complaint between statuses with one conditional UPDATE, so that of two people deciding at once
    exactly one wins (on SQLite too, where SELECT ... FOR UPDATE does not lock)."""
    moved = session.execute(
        update(Complaint)
        .where(Complaint.id == complaint_id, Complaint.status == from_status)
        .values(status=to_status)
        .execution_options(synchronize_session=False)
    ).rowcount
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise ReviewError(f"pengaduan {complaint_id} tidak ada")
    if not moved:
        raise ReviewError(
            "pengaduan ini sudah ditinjau; admin dapat membukanya kembali"
            if from_status == "baru"
            else "pengaduan ini belum ditinjau"
        )
    session.refresh(complaint)
    return complaint


def decide(
    db: Database,
    taxonomy: Taxonomy,
    complaint_id: int,
    user: Staff,
    *,
    opd: str | None = None,
    urgency: str | None = None,
    note: str | None = None,
) -> Complaint:
    """Accept the suggestion (no opd/urgency given, or the same ones) or correct it."""
    if opd is not None and opd not in taxonomy.codes:
        raise ReviewError(f"OPD {opd!r} tidak ada dalam taksonomi")
    if urgency is not None and urgency not in URGENCY_LEVELS:
        raise ReviewError(f"urgensi {urgency!r} tidak dikenal")
    with db.session.begin() as session:
        c = _claim(session, complaint_id, "baru", "ditinjau")
        before = {"status": "baru", "opd": None, "urgency": None, "accepted": None}
        c.final_opd, c.final_urgency = opd or c.opd, urgency or c.urgency
        c.accepted = c.final_opd == c.opd and c.final_urgency == c.urgency
        c.reviewed_by, c.reviewed_at = user.username, utcnow()
        c.note = (note or "").strip() or None
        action = "terima" if c.accepted else "koreksi"
        session.add(AuditEvent(complaint=c, username=user.username, action=action, before=before, after=_state(c),
                               note=c.note))  # fmt: skip
    return get(db, complaint_id)


def reopen(db: Database, complaint_id: int, user: Staff, note: str | None = None) -> Complaint:
    if not user.is_admin:
        raise ReviewError("hanya admin yang dapat membuka kembali pengaduan")
    with db.session.begin() as session:
        c = _claim(session, complaint_id, "ditinjau", "baru")
        before = {**_state(c), "status": "ditinjau"}
        c.final_opd, c.final_urgency, c.accepted = None, None, None
        c.reviewed_by = c.reviewed_at = None
        session.add(AuditEvent(complaint=c, username=user.username, action="buka-ulang", before=before,
                               after=_state(c), note=(note or "").strip() or None))  # fmt: skip
    return get(db, complaint_id)


@dataclass
class Dashboard:
    total: int = 0
    reviewed: int = 0
    needs_review_rate: float | None = None
    agreement_rate: float | None = None
    per_day: list[tuple[str, int]] = field(default_factory=list)
    by_opd: list[tuple[str, int]] = field(default_factory=list)
    by_urgency: list[tuple[str, int]] = field(default_factory=list)
    agreement_by_opd: list[tuple[str, int, float]] = field(default_factory=list)
    agreement_by_version: list[tuple[str, int, float]] = field(default_factory=list)


def dashboard(db: Database, days: int = 30) -> Dashboard:
    accepted = func.sum(case((Complaint.accepted.is_(True), 1), else_=0))
    reviewed = func.sum(case((Complaint.status == "ditinjau", 1), else_=0))
    with db.session() as session:
        total, flagged, n_reviewed, n_accepted = session.execute(
            select(func.count(), func.sum(case((Complaint.needs_review.is_(True), 1), else_=0)), reviewed, accepted)
        ).one()
        since = utcnow() - timedelta(days=days)
        day = func.date(Complaint.received_at)
        per_day = session.execute(
            select(day, func.count()).where(Complaint.received_at >= since).group_by(day).order_by(day)
        ).all()
        by_opd = session.execute(
            select(Complaint.opd, func.count()).group_by(Complaint.opd).order_by(func.count().desc())
        ).all()
        by_urgency = dict(session.execute(select(Complaint.urgency, func.count()).group_by(Complaint.urgency)).all())

        def agreement(column):
            rows = session.execute(
                select(column, reviewed, accepted).group_by(column).having(reviewed > 0).order_by(column)
            ).all()
            return [(str(key), int(r), int(a) / int(r)) for key, r, a in rows]

        by_opd_agreement = agreement(Complaint.opd)
        by_version = agreement(Complaint.model_version)
    total = int(total or 0)
    return Dashboard(
        total=total,
        reviewed=int(n_reviewed or 0),
        needs_review_rate=(int(flagged or 0) / total) if total else None,
        agreement_rate=(int(n_accepted or 0) / int(n_reviewed)) if n_reviewed else None,
        per_day=[(str(d), int(n)) for d, n in per_day],
        by_opd=[(o, int(n)) for o, n in by_opd],
        by_urgency=[(u, int(by_urgency.get(u, 0))) for u in URGENCY_LEVELS],
        agreement_by_opd=by_opd_agreement,
        agreement_by_version=by_version,
    )


def feedback_frame(db: Database, since: date | None = None) -> pd.DataFrame:
    """Reviewed complaints in the training format, identifiers masked; the latest decision per text wins."""
    query = select(Complaint).where(Complaint.status == "ditinjau").order_by(Complaint.reviewed_at)
    if since:
        query = query.where(Complaint.reviewed_at >= datetime.combine(since, time(), timezone.utc))
    with db.session() as session:
        rows = [
            {
                "id": f"feedback-{c.id}",
                "text": " ".join(mask_identifiers(c.text).split()),
                "opd": c.final_opd,
                "urgency": c.final_urgency,
                "channel": c.channel or "",
                "created_at": c.received_at.isoformat(timespec="seconds"),
            }
            for c in session.scalars(query)
        ]
    frame = pd.DataFrame(rows, columns=["id", "text", "opd", "urgency", "channel", "created_at"])
    return frame.drop_duplicates(subset="text", keep="last").reset_index(drop=True)
