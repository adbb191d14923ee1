"""Review pages for staff: login, queue, complaint detail with decisions, dashboard. Server-rendered forms;
every form carries the session's CSRF token and every page is sent with a strict Content-Security-Policy."""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import date
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from model.taxonomy import URGENCY_LEVELS, Taxonomy, default_taxonomy
from serving import charts, review
from serving.db import Database
from serving.users import Staff, Users

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
TEMPLATES.env.globals.update(URGENCY_LEVELS=URGENCY_LEVELS, REASONS={
    "low_confidence": "keyakinan rendah",
    "close_second": "pilihan kedua dekat",
    "out_of_vocabulary": "banyak kata tak dikenal",
    "emergency_rule": "aturan darurat",
})  # fmt: skip

router = APIRouter(prefix="/review", include_in_schema=False)


class LoginRequired(Exception):
    def __init__(self, next_path: str):
        self.next_path = next_path


def login_redirect(request: Request, exc: LoginRequired) -> RedirectResponse:
    return RedirectResponse(f"/review/login?{urlencode({'next': exc.next_path})}", status_code=303)


def get_db(request: Request) -> Database:
    return request.app.state.db


def taxonomy(request: Request) -> Taxonomy:
    holder = request.app.state.service.holder
    return holder.current.model.taxonomy if holder.current else default_taxonomy()


def csrf_token(request: Request) -> str:
    if "csrf" not in request.session:
        request.session["csrf"] = secrets.token_urlsafe(32)
    return request.session["csrf"]


def check_csrf(request: Request, csrf: Annotated[str, Form()] = "") -> None:
    expected = request.session.get("csrf", "")
    if not expected or not hmac.compare_digest(csrf.encode(), expected.encode()):
        raise HTTPException(403, "Token formulir tidak valid atau kedaluwarsa; muat ulang halaman lalu coba lagi.")


def staff(request: Request, db: Annotated[Database, Depends(get_db)]) -> Staff:
    """The logged-in, still active user; anyone else is sent to the login page."""
    username = request.session.get("user")
    user = Users(db).get(username) if username else None
    if user is None or not user.active:
        request.session.clear()
        raise LoginRequired(request.url.path)
    return user


Db = Annotated[Database, Depends(get_db)]
StaffUser = Annotated[Staff, Depends(staff)]
Csrf = Depends(check_csrf)


def render(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
    context.update(request=request, csrf=csrf_token(request), user=context.get("user"))
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


def _safe_next(path: str | None) -> str:
    return path if path and re.fullmatch(r"/review(/[\w/-]*)?", path) else "/review"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "login.html", next=_safe_next(next), error=None)


@router.post("/login", dependencies=[Csrf])
def login(
    request: Request,
    db: Db,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form()] = "/review",
):
    user = Users(db).authenticate(username, password)
    if user is None:
        error = "Nama pengguna atau kata sandi salah, atau akun dinonaktifkan."
        return render(request, "login.html", status_code=401, next=_safe_next(next), error=error)
    request.session.clear()  # a fresh session (and CSRF token) after login
    request.session["user"] = user.username
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Csrf])
def logout(request: Request) -> RedirectResponse:
    request.session.clear()
    return RedirectResponse("/review/login", status_code=303)


@router.get("", response_class=HTMLResponse)
def queue_page(
    request: Request,
    user: StaffUser,
    db: Db,
    opd: str | None = None,
    urgency: str | None = None,
    status: str | None = None,
    date_from: Annotated[str | None, Query(alias="dari")] = None,
    date_to: Annotated[str | None, Query(alias="sampai")] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    tax = taxonomy(request)
    filters = review.Filters(
        opd=opd if opd in tax.codes else None,
        urgency=urgency if urgency in URGENCY_LEVELS else None,
        status=status if status in review.STATUSES else None,
        date_from=_date(date_from),
        date_to=_date(date_to),
        q=(q or "").strip() or None,
        page=page,
    )
    result = review.queue(db, filters)
    query = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return render(request, "queue.html", user=user, page=result, filters=filters, taxonomy=tax, query=query)


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def highlight(text: str, words: list[str]) -> list[tuple[str, bool]]:
    """The text cut into (segment, is_explanation_word) pieces; the template escapes every piece."""
    words = sorted({w for w in words if w.strip()}, key=len, reverse=True)
    if not words:
        return [(text, False)]
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.IGNORECASE)
    pieces, last = [], 0
    for match in pattern.finditer(text):
        pieces += [(text[last : match.start()], False), (match.group(0), True)]
        last = match.end()
    pieces.append((text[last:], False))
    return [p for p in pieces if p[0]]


@router.get("/complaints/{complaint_id}", response_class=HTMLResponse)
def detail_page(request: Request, complaint_id: int, user: StaffUser, db: Db, error: str | None = None):
    complaint = review.get(db, complaint_id)
    if complaint is None:
        raise HTTPException(404, "Pengaduan tidak ditemukan.")
    words = [t["word"] for head in ("opd", "urgency") for t in complaint.explanation.get(head, [])]
    return render(
        request,
        "detail.html",
        user=user,
        c=complaint,
        pieces=highlight(complaint.text, words),
        taxonomy=taxonomy(request),
        error=error,
    )


def _decision(
    request: Request, db: Database, user: Staff, complaint_id: int, action
) -> RedirectResponse | HTMLResponse:
    try:
        action()
    except review.ReviewError as exc:
        response = detail_page(request, complaint_id, user, db, error=str(exc))
        response.status_code = 409
        return response
    return RedirectResponse(f"/review/complaints/{complaint_id}", status_code=303)


@router.post("/complaints/{complaint_id}/accept", dependencies=[Csrf])
def accept(request: Request, complaint_id: int, user: StaffUser, db: Db):
    return _decision(request, db, user, complaint_id, lambda: review.decide(db, taxonomy(request), complaint_id, user))


@router.post("/complaints/{complaint_id}/correct", dependencies=[Csrf])
def correct(
    request: Request,
    complaint_id: int,
    user: StaffUser,
    db: Db,
    opd: Annotated[str, Form(max_length=50)],
    urgency: Annotated[str, Form(max_length=20)],
    note: Annotated[str, Form(max_length=2000)] = "",
):
    tax = taxonomy(request)
    return _decision(
        request,
        db,
        user,
        complaint_id,
        lambda: review.decide(db, tax, complaint_id, user, opd=opd, urgency=urgency, note=note),
    )


@router.post("/complaints/{complaint_id}/reopen", dependencies=[Csrf])
def reopen(
    request: Request, complaint_id: int, user: StaffUser, db: Db, note: Annotated[str, Form(max_length=2000)] = ""
):
    return _decision(request, db, user, complaint_id, lambda: review.reopen(db, complaint_id, user, note))


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, user: StaffUser, db: Db) -> HTMLResponse:
    d = review.dashboard(db)
    tax = taxonomy(request)
    name = {o.code: o.name for o in tax.opds}
    figures = {
        "per_day": charts.columns(d.per_day, title="Pengaduan per hari"),
        "by_opd": charts.hbar([(name.get(o, o), n) for o, n in d.by_opd], title="Pengaduan per OPD", width=640),
        "by_urgency": charts.hbar(d.by_urgency, title="Pengaduan per urgensi"),
        "agreement_by_opd": charts.hbar(
            [(name.get(o, o), rate) for o, _, rate in d.agreement_by_opd], percent=True, width=640,
            title="Saran diterima per OPD",
        ),
        "agreement_by_version": charts.hbar(
            [(f"versi {v}", rate) for v, _, rate in d.agreement_by_version], percent=True,
            title="Saran diterima per versi model",
        ),
    }  # fmt: skip
    return render(request, "dashboard.html", user=user, d=d, figures=figures, names=name)
