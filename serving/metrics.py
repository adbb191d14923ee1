"""Prometheus metrics of one app instance (its own registry, so several apps can live in one process).

With several workers, `triase serve` sets PROMETHEUS_MULTIPROC_DIR and `/metrics` adds up all workers.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "triase_http_requests", "HTTP requests by route template, method and status.",
            ["route", "method", "status"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "triase_http_request_duration_seconds", "Time to answer a request, by route template.",
            ["route", "method"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.predictions = Counter(
            "triase_predictions", "Predictions by suggested OPD and final urgency.", ["opd", "urgency"], registry=r
        )
        self.needs_review = Counter(
            "triase_predictions_needs_review", "Predictions handed to a person (divide by triase_predictions).",
            registry=r,
        )  # fmt: skip
        self.review_reasons = Counter(
            "triase_review_reasons", "Why predictions were handed to a person.", ["reason"], registry=r
        )
        self.model_info = Gauge(
            "triase_model_info", "The model being served (value 1; 0 for one that was replaced).",
            ["name", "version", "run_id"], registry=r, multiprocess_mode="liveall",
        )  # fmt: skip
        self.reloads = Counter(
            "triase_model_loads", "Model load attempts, by outcome (loaded, failed).", ["outcome"], registry=r
        )

        self.records_pending = Gauge(
            "triase_records_pending", "Prediction records waiting to be written to the database.",
            registry=r, multiprocess_mode="livesum",
        )  # fmt: skip
        self.record_write_failures = Counter(
            "triase_record_write_failures", "Failed attempts to write prediction records (they are retried).",
            registry=r,
        )  # fmt: skip

    def record_prediction(self, opd: str, urgency: str, reasons: list[str]) -> None:
        self.predictions.labels(opd, urgency).inc()
        if reasons:
            self.needs_review.inc()
        for reason in reasons:
            self.review_reasons.labels(reason).inc()

    def model_swapped(self, old: tuple[str, str, str] | None, new: tuple[str, str, str]) -> None:
        if old is not None and old != new:
            self.model_info.labels(*old).set(0)
        self.model_info.labels(*new).set(1)

    def exposition(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            combined = CollectorRegistry()
            multiprocess.MultiProcessCollector(combined)
            return generate_latest(combined)
        return generate_latest(self.registry)
