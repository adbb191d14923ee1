"""Python calls per prediction, in the model alone and through the whole app: a measure of the service's own
overhead that does not move with the host's speed (timings on these shared 2-core hosts vary by a tenth or more
from run to run, more than most changes to the request path are worth).

Everything runs in one thread: the app is driven in process through `httpx.ASGITransport`, with texts short
enough for the batcher to call the model on the event loop. cProfile counts the calls made while the app (from
its outermost middleware in) handles each request, so the client's own work is left out.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
import tempfile
from pathlib import Path

import httpx

from serving.app import create_app
from serving.batcher import INLINE_CHARS
from training.settings import get_settings


def _calls(profile: cProfile.Profile) -> int:
    return pstats.Stats(profile).total_calls


async def _through_app(texts: list[str]) -> tuple[float, float]:
    work = Path(tempfile.mkdtemp(prefix="triase-overhead-"))
    settings = get_settings().model_copy(
        update={"database_url": f"sqlite:///{work / 'bench.db'}", "rate_limit": "", "log_level": "WARNING"}
    )
    app = create_app(settings)
    key, _ = app.state.api_keys.create("overhead", "intake")  # before start-up: no first-start banner
    whole = cProfile.Profile()

    async def counted(scope, receive, send) -> None:
        whole.enable()
        try:
            await app(scope, receive, send)
        finally:
            whole.disable()

    def client(asgi) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=asgi)
        return httpx.AsyncClient(transport=transport, base_url="http://bench", headers={"X-API-Key": key})

    async with app.router.lifespan_context(app):
        async with client(app) as c:
            while (await c.get("/readyz")).status_code != 200:
                await asyncio.sleep(0.05)
            # Every text once first, so that both counts below find the per-word caches as a running service does.
            for text in texts:
                await c.post("/v1/predict", json={"text": text})
        model = app.state.service.holder.current.model
        alone = cProfile.Profile()
        alone.enable()
        for text in texts:
            model.predict([text])
        alone.disable()
        async with client(counted) as c:
            for text in texts:
                (await c.post("/v1/predict", json={"text": text})).raise_for_status()
    return _calls(alone) / len(texts), _calls(whole) / len(texts)


def calls_per_prediction(texts: list[str], n: int = 300) -> dict[str, float]:
    """Python calls per prediction: `model` (`TriageModel.predict` of one text) and `app` (the app handling a
    whole `POST /v1/predict`, the model call included)."""
    short = [t for t in texts if len(t) <= INLINE_CHARS][:n]
    model, app = asyncio.run(_through_app(short))
    return {"model": model, "app": app}
