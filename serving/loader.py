"""Which model the service answers with, and replacing it safely while requests keep flowing.

`ModelHolder.check` resolves the configured source (an alias is followed to its current version), loads a new
version in the calling thread, proves it with a smoke prediction and only then swaps it in: a single reference
assignment, so a request sees either the old model or the new one, never a half-loaded one. A failure leaves
the old model serving and is kept for `/v1/model`, the logs and the metrics.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from mlflow.tracking import MlflowClient

from model.predictor import TriageModel
from serving.db import utcnow
from serving.metrics import Metrics
from training import tracking
from training.settings import Settings

log = logging.getLogger("triase.loader")

SMOKE_TEXT = "Lampu jalan di depan rumah kami mati sejak kemarin malam, mohon segera diperbaiki."
RETRY_SECONDS = 5.0  # how often to retry while nothing is loaded yet, even with polling switched off


@dataclass(frozen=True)
class LoadedModel:
    model: TriageModel
    uri: str
    loaded_at: datetime
    thresholds: dict[str, float]
    target_precision: float
    training_metrics: dict[str, float] = field(default_factory=dict)

    @property
    def ref(self) -> tuple[str, str, str]:
        return self.model.name, self.model.version or "", self.model.run_id or ""


@dataclass
class LoadStatus:
    last_check_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None


def smoke_test(model: TriageModel) -> None:
    """Raise unless the model answers a plain complaint with a known OPD and finite probabilities."""
    (prediction,) = model.predict([SMOKE_TEXT])
    if prediction.opd.code not in model.taxonomy.codes:
        raise ValueError(f"smoke prediction gave unknown OPD {prediction.opd.code!r}")
    if not math.isfinite(prediction.opd.probability) or not math.isfinite(prediction.urgency_probability):
        raise ValueError("smoke prediction gave a non-finite probability")


class ModelHolder:
    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        load: Callable[[str, MlflowClient], TriageModel] = tracking.load_model,
    ):
        self.settings = settings
        self.metrics = metrics
        self.source = settings.serving_uri
        self.current: LoadedModel | None = None
        self.status = LoadStatus()
        self._load = load
        self._lock = threading.Lock()  # one load at a time; requests never wait on it
        self._failed_uri: str | None = None
        self._client = tracking.registry_client(settings)

    @property
    def watches_alias(self) -> bool:
        return self.source.startswith("models:/") and "@" in self.source

    def _target(self) -> tuple[str, str | None]:
        """The exact URI to load now, and the registry version it is (None when not from the registry)."""
        if not self.watches_alias:
            return self.source, None
        name, version = tracking.registry_version(self.source, self._client)
        return f"models:/{name}/{version}", version

    def check(self, force: bool = False) -> str:
        """Load the source's current version if it differs from the one served: 'loaded', 'unchanged' or 'failed'."""
        with self._lock:
            self.status.last_check_at = utcnow()
            uri = None
            try:
                uri, version = self._target()
                current = self.current
                if current is not None and (version == current.model.version if version else not force):
                    return "unchanged"
                if uri == self._failed_uri and not force:
                    return "failed"  # already reported; retried when forced or when the alias moves on
                loaded = self._load_and_prove(uri)
            except Exception as exc:  # any failure must leave the old model serving
                self._failed_uri = uri
                self.status.last_error = f"{type(exc).__name__}: {exc}"[:500]
                self.status.last_error_at = utcnow()
                self.metrics.reloads.labels("failed").inc()
                log.error("model load failed", extra={"source": self.source, "error": self.status.last_error})
                return "failed"
            old = self.current
            self.current = loaded  # the swap: one reference assignment
            self._failed_uri = self.status.last_error = self.status.last_error_at = None
            self.metrics.reloads.labels("loaded").inc()
            self.metrics.model_swapped(old.ref if old else None, loaded.ref)
            log.info(
                "model loaded",
                extra={"uri": uri, "version": loaded.model.version, "previous": old.model.version if old else None},
            )
            replaced = old is not None
            del old  # so that the collection below can free the previous model
            tracking.settle_memory(collect=replaced)
            return "loaded"

    def _load_and_prove(self, uri: str) -> LoadedModel:
        model = self._load(uri, self._client)
        smoke_test(model)
        target = self.settings.target_precision or model.policy.target_precision
        return LoadedModel(
            model=model,
            uri=uri,
            loaded_at=utcnow(),
            thresholds=model.thresholds_for(target),
            target_precision=target,
            training_metrics=self._run_metrics(model.run_id),
        )

    def _run_metrics(self, run_id: str | None) -> dict[str, float]:
        if not run_id:
            return {}
        try:
            return dict(self._client.get_run(run_id).data.metrics)
        except Exception:  # the figures are informative; a model without them still serves
            return {}

    async def watch(self) -> None:
        """Load at start-up, then follow the alias every `reload_interval` seconds (runs as a background task)."""
        interval = self.settings.reload_interval
        while True:
            await asyncio.to_thread(self.check)
            gc.enable()  # off from the service's start until the first load attempt: see serving/main.py
            if self.current is None:
                await asyncio.sleep(min(interval, RETRY_SECONDS) if interval > 0 else RETRY_SECONDS)
            elif interval > 0 and self.watches_alias:
                await asyncio.sleep(interval)
            else:
                return
