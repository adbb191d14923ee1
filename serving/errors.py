"""Every error is JSON with a `detail` naming the field and the reason, plus the request id: never a bare 500
page, never the offending input echoed back (it may be a long complaint full of personal data)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("triase.errors")


def field_name(loc: Sequence[Any]) -> str:
    """`("body", "items", 3, "text")` -> `items.3.text`; the whole body is `body`."""
    parts = list(loc)
    if parts and parts[0] == "body" and len(parts) > 1 and not isinstance(parts[1], int):
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or "body"


def field_errors(errors: Iterable[dict], prefix: Sequence[Any] = ()) -> list[dict]:
    return [
        {"field": field_name([*prefix, *e.get("loc", ())]), "reason": e.get("msg", "invalid"), "type": e.get("type")}
        for e in errors
    ]


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse(
        status_code=422, content={"detail": field_errors(exc.errors()), "request_id": _request_id(request)}
    )


BODY_UNPARSABLE = "There was an error parsing the body"  # FastAPI's words for a body that is not UTF-8 JSON


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail
    if exc.status_code == 400 and detail == BODY_UNPARSABLE:
        detail = [{"field": "body", "reason": "the body is not JSON text in UTF-8", "type": "body_unparsable"}]
    return JSONResponse(
        status_code=exc.status_code,
        content={"detail": detail, "request_id": _request_id(request)},
        headers=getattr(exc, "headers", None),
    )


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", extra={"error_type": type(exc).__name__})
    return JSONResponse(status_code=500, content={"detail": "internal error", "request_id": _request_id(request)})


async def database_error(request: Request, exc: SQLAlchemyError) -> JSONResponse:
    log.error("database unavailable", extra={"error_type": type(exc).__name__})
    return JSONResponse(
        status_code=503,
        content={"detail": "the database is unavailable; try again shortly", "request_id": _request_id(request)},
        headers={"Retry-After": "5"},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(SQLAlchemyError, database_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
