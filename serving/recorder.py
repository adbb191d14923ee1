"""Every prediction the API answers is recorded for review, without making the request wait for the database.

Requests hand records to `Recorder.submit`, which only appends to an in-memory queue. A background thread writes
them in batches; if the database is unavailable it keeps them and retries with back-off, so a database outage
delays records but loses none. Shutdown drains the queue before the process exits.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from model.taxonomy import URGENCY_LEVELS
from serving.db import Complaint, Database
from serving.metrics import Metrics
from serving.schemas import PredictRequest, PredictResponse

log = logging.getLogger("triase.recorder")


def record_of(response: PredictResponse, request: PredictRequest, received_at: datetime, record_id: str) -> dict:
    return {
        "record_id": record_id,
        "external_id": request.id,
        "channel": request.channel,
        "text": request.text,
        "received_at": received_at,
        "model_version": response.model.version,
        "model_run_id": response.model.run_id,
        "opd": response.opd.code,
        "opd_probability": response.opd.probability,
        "opd_top3": [o.model_dump() for o in (response.opd, *response.alternatives)],
        "urgency": response.urgency.label,
        "urgency_rank": URGENCY_LEVELS.index(response.urgency.label),
        "urgency_probability": response.urgency.probability,
        "urgency_rules": [r.model_dump() for r in response.urgency_rules],
        "needs_review": response.needs_review,
        "review_reasons": list(response.review_reasons),
        "explanation": response.explanation.model_dump(),
        "status": "baru",
    }


class Recorder:
    def __init__(
        self, db: Database, metrics: Metrics, *, batch_size: int = 200, linger: float = 0.05, max_backoff: float = 10.0
    ):
        self.db = db
        self.metrics = metrics
        self.batch_size = batch_size
        self.linger = linger
        self.max_backoff = max_backoff
        self._pending: deque[dict] = deque()
        self._wake = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="triase-recorder", daemon=True)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        self._thread.start()

    def submit(self, records: list[dict]) -> None:
        with self._wake:
            was_empty = not self._pending
            self._pending.extend(records)
            self.metrics.records_pending.set(len(self._pending))
            # The writer needs waking only to start gathering a batch or to write a full one: woken on every
            # submit, it took the interpreter from the requests hundreds of times a second just to wait again.
            if was_empty or len(self._pending) >= self.batch_size:
                self._wake.notify()

    def stop(self, timeout: float = 30.0) -> None:
        """Write what is pending (for up to `timeout` seconds), then stop the writer thread."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout)
        if self._pending:
            log.error("records not written at shutdown", extra={"count": len(self._pending)})

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once everything submitted so far is in the database (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self._pending

    def _run(self) -> None:
        backoff = 0.0
        while True:
            with self._wake:
                while not self._pending and not self._stopping:
                    self._wake.wait()
                # Let a few requests' records gather: one transaction per request would cost a commit each and
                # wake this thread to compete with the requests for the interpreter hundreds of times a second.
                self._wake.wait_for(lambda: len(self._pending) >= self.batch_size or self._stopping, self.linger)
                if not self._pending and self._stopping:
                    return
                batch = [self._pending[i] for i in range(min(self.batch_size, len(self._pending)))]
            try:
                self._write(batch)
            except Exception as exc:  # the database is down or refusing: keep the records, retry later
                backoff = min(self.max_backoff, max(0.2, backoff * 2))
                self.metrics.record_write_failures.inc()
                log.warning("record write failed; will retry", extra={"error": type(exc).__name__, "retry_in": backoff})
                with self._wake:
                    self._wake.wait(backoff)
                continue
            backoff = 0.0
            with self._wake:
                for _ in batch:
                    self._pending.popleft()
                self.metrics.records_pending.set(len(self._pending))

    def _write(self, batch: list[dict]) -> None:
        # A plain Core INSERT of the rows, not the ORM: this thread shares the interpreter with the requests. A
        # batch of ORM objects held it for tens of milliseconds at a time; the ORM's bulk insert of the same dicts
        # still cost a quarter more CPU per record than Core at the batch sizes a busy service makes (~10 records).
        table = Complaint.__table__
        try:
            with self.db.engine.begin() as connection:
                connection.execute(table.insert(), batch)
        except IntegrityError:
            # A retry after a commit whose answer was lost: write only the records not in yet.
            with self.db.engine.begin() as connection:
                ids = [r["record_id"] for r in batch]
                present = set(connection.scalars(select(table.c.record_id).where(table.c.record_id.in_(ids))))
                missing = [r for r in batch if r["record_id"] not in present]
                if missing:
                    connection.execute(table.insert(), missing)
