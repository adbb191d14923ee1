"""Which model the service answers with, and replacing it safely while requests keep flowing.

`ModelHolder.check` resolves the configured source (an alias is followed to its current version), loads a new
version in the calling thread, proves it with a smoke prediction and only then swaps it in: a single reference
assignment, so a request sees either the old model or the new one, never a half-loaded one. A failure leaves
the old model serving and is kept for `/v1/model`, the logs and the metrics. The first load can come from a
helper process started with the service (serving/fetch.py); MLflow is then imported only after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from model.memory import settle_memory
from model.predictor import TriageModel
from serving.db import utcnow
from serving.fetch import FetchedModel, ModelFetch
from serving.metrics import Metrics
from training.settings import Settings

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

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
        load: Callable[[str, MlflowClient], TriageModel] | None = None,
        fetch: ModelFetch | None = None,
    ):
        self.settings = settings
        self.metrics = metrics
        self.source = settings.serving_uri
        self.current: LoadedModel | None = None
        self.status = LoadStatus()
        self._load = load
        self._fetch = fetch  # the first model, from `triase serve`'s helper process: used by the first check only
        self._lock = threading.Lock()  # one load at a time; requests never wait on it
        self._failed_uri: str | None = None
        self._client: MlflowClient | None = None

    @property
    def client(self) -> MlflowClient:
        """MLflow's client on the configured store, made on first use: MLflow takes ~0.4 s to import, and with a
        fetch helper the service needs it only once it is ready (see serving/fetch.py)."""
        if self._client is None:
            from training.registry import registry_client

            self._client = registry_client(self.settings.tracking_uri)
        return self._client

    def _open_client(self) -> None:
        """Make MLflow's client and look the alias up once now, just after the first load, rather than in the
        middle of traffic at the first poll: the import takes 0.4 s and the first lookup 20 ms (it builds the
        registry's store; later ones take 2 ms). The import leaves about 170,000 objects; frozen, like the
        model's, they add no pause to full collections (unfrozen: 56 ms each, fast host)."""
        with contextlib.suppress(Exception):  # the next poll meets the same failure, and reports it
            self._target()
        settle_memory(collect=False)

    @property
    def watches_alias(self) -> bool:
        return self.source.startswith("models:/") and "@" in self.source

    def _target(self) -> tuple[str, str | None]:
        """The exact URI to load now, and the registry version it is (None when not from the registry)."""
        if not self.watches_alias:
            return self.source, None
        from training.registry import resolve

        return resolve(self.source, self.client)

    def check(self, force: bool = False) -> str:
        """Load the source's current version if it differs from the one served: 'loaded', 'unchanged' or 'failed'."""
        with self._lock:
            self.status.last_check_at = utcnow()
            uri = None
            try:
                fetched = self._fetched()
                if fetched is not None:
                    uri = fetched.uri
                    loaded = self._prove(fetched.model, uri, fetched.training_metrics)
                else:
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
            settle_memory(collect=replaced)
            return "loaded"

    def _fetched(self) -> FetchedModel | None:
        """The helper's model, once: None without a helper, or when it failed (then this process loads)."""
        fetch, self._fetch = self._fetch, None
        if fetch is None:
            return None
        if (fetch.tracking_uri, fetch.source) != (self.settings.tracking_uri, self.source):
            fetch.close()  # started for other settings than these: not this service's model
            return None
        try:
            return fetch.load()
        except Exception as exc:
            log.warning("start-up fetch failed; loading in the service", extra={"error": f"{exc}"[:500]})
            return None

    def _load_and_prove(self, uri: str) -> LoadedModel:
        from training import registry, tracking

        model = (self._load or tracking.load_model)(uri, self.client)
        return self._prove(model, uri, registry.run_metrics(self.client, model.run_id))

    def _prove(self, model: TriageModel, uri: str, training_metrics: dict[str, float]) -> LoadedModel:
        smoke_test(model)
        target = self.settings.target_precision or model.policy.target_precision
        return LoadedModel(
            model=model,
            uri=uri,
            loaded_at=utcnow(),
            thresholds=model.thresholds_for(target),
            target_precision=target,
            training_metrics=training_metrics,
        )

    async def watch(self) -> None:
        """Load at start-up, then follow the alias every `reload_interval` seconds (runs as a background task)."""
        interval = self.settings.reload_interval
        while True:
            await asyncio.to_thread(self.check)
            gc.enable()  # off from the service's start until the first load attempt: see serving/main.py
            if self.current is None:
                await asyncio.sleep(min(interval, RETRY_SECONDS) if interval > 0 else RETRY_SECONDS)
            elif interval > 0 and self.watches_alias:
                if self._client is None:
                    await asyncio.to_thread(self._open_client)
                await asyncio.sleep(interval)
            else:
                return
