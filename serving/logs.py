"""Structured JSON logs carrying the request id. Complaint text is never logged: only a short hash and
its length, so a log line can be matched to a stored record without exposing what the citizen wrote."""

from __future__ import annotations

import collections
import contextlib
import hashlib
import logging
import logging.config
import queue
import time
from collections.abc import Iterator
from contextvars import ContextVar
from logging.handlers import QueueHandler, QueueListener

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


class _Enqueue(QueueHandler):
    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # The listener is in this process: the record goes as it is, and is formatted there, off the event loop.
        return record


class _BatchingListener(QueueListener):
    """A `QueueListener` that takes what has queued up every `linger` seconds instead of waking for each record.
    Woken per record, its thread took the interpreter from the event loop for every line; with the record writer's
    wake-ups (`serving/recorder.py`), that was a fifth of the CPU time per prediction in process (1,456 -> 1,176
    µs once both stopped)."""

    def __init__(self, queue_, *handlers, linger: float = 0.05, **kwargs):
        super().__init__(queue_, *handlers, **kwargs)
        self.linger = linger
        self._taken: collections.deque = collections.deque()

    def dequeue(self, block: bool) -> logging.LogRecord | None:
        if not self._taken:
            self._taken.append(self.queue.get(block))
            time.sleep(self.linger)  # let the next records gather; the stop sentinel is only queued behind them
            with contextlib.suppress(queue.Empty):
                while True:
                    self._taken.append(self.queue.get_nowait())
        return self._taken.popleft()


@contextlib.contextmanager
def logging_in_background(names: tuple[str, ...] = ("triase", "uvicorn")) -> Iterator[None]:
    """While inside, the named loggers' lines are formatted and written by a background thread. Formatting a JSON
    line and writing it to stderr was a quarter of the event loop's time per prediction; a request now only
    queues its record. Filters move to the queueing side, where the request id's context variable is set. On
    exit, what is queued is written and the handlers are put back."""
    loggers = [logging.getLogger(name) for name in names]
    before = {logger: list(logger.handlers) for logger in loggers}
    targets = list(dict.fromkeys(h for handlers in before.values() for h in handlers))
    filters = {target: list(target.filters) for target in targets}
    enqueue = _Enqueue(queue.SimpleQueue())
    for target, its_filters in filters.items():
        for f in its_filters:
            target.removeFilter(f)
            if f not in enqueue.filters:
                enqueue.addFilter(f)
    for logger in loggers:
        logger.handlers = [enqueue] if before[logger] else []
    listener = _BatchingListener(enqueue.queue, *targets, respect_handler_level=True)
    listener.start()
    try:
        yield
    finally:
        listener.stop()
        for logger, handlers in before.items():
            logger.handlers = handlers
        for target, its_filters in filters.items():
            for f in its_filters:
                target.addFilter(f)
