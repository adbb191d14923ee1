"""Structured JSON logs carrying the request id. Complaint text is never logged: only a short hash and
its length, so a log line can be matched to a stored record without exposing what the citizen wrote."""

from __future__ import annotations

import hashlib
import logging
import logging.config
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def text_fingerprint(text: str) -> dict[str, object]:
    return {"text_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()[:16], "text_chars": len(text)}


def log_config(level: str = "INFO") -> dict:
    """A `logging.config` dict; also handed to uvicorn so its own lines are JSON too."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(process)d",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"},
            }
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "triase": {"handlers": ["stderr"], "level": level.upper(), "propagate": True},
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def configure_logging(level: str = "INFO") -> None:
    logging.config.dictConfig(log_config(level))
