"""The FastAPI application. `create_app()` builds one from settings; `uvicorn serving.app:create_app --factory`
and `triase serve` both use it. Everything a request needs hangs off `app.state`, set up in `lifespan`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from serving import errors, pages
from serving.api import router
from serving.apikeys import ApiKeys
from serving.batcher import MicroBatcher
from serving.db import Database
from serving.deps import Service
from serving.fetch import ModelFetch
from serving.loader import ModelHolder
from serving.logs import configure_logging, logging_in_background
from serving.metrics import Metrics
from serving.middleware import RequestContextMiddleware
from serving.ratelimit import RateLimiter
from serving.recorder import Recorder
from training.settings import Settings, get_settings

STATIC_DIR = Path(__file__).resolve().parent / "static"
SESSION_HOURS = 8

log = logging.getLogger("triase.app")

DESCRIPTION = """
Suggests which OPD (city department) should handle an Indonesian citizen complaint and how urgent it is
(`darurat`, `tinggi`, `sedang`, `rendah`), with probabilities, alternatives, the words behind the suggestion,
and `needs_review` when a person should look first.

Send an API key in the `X-API-Key` header (`triase apikey create NAME --role intake`).
"""


def first_start_message(key: str, base_url: str = "http://127.0.0.1:8000") -> str:
    """What a new user sees once: the admin key and a call they can paste."""
    return (
        "\n" + "=" * 78 + "\n"
        "Triase: first start, so an admin API key was created. It is shown only this once:\n\n"
        f"    {key}\n\n"
        "Try the API (paste into another terminal):\n\n"
        f"    curl -s -X POST {base_url}/v1/predict \\\n"
        f"      -H 'X-API-Key: {key}' -H 'Content-Type: application/json' \\\n"
        '      -d \'{"text": "lampu jalan di depan rumah mati sudah seminggu"}\'\n\n'
        f"Docs: {base_url}/docs   More keys: triase apikey create NAME --role intake\n" + "=" * 78 + "\n"
    )


def bootstrap_keys(api_keys: ApiKeys, base_url: str = "http://127.0.0.1:8000") -> bool:
    """Create and print the first admin key on an empty store. True when it did."""
    key = api_keys.bootstrap_admin()
    if key is None:
        return False
    # Printed, not logged: logs are shipped and kept, and the key must not live there.
    sys.stderr.write(first_start_message(key, base_url))
    sys.stderr.flush()
    return True


def create_app(settings: Settings | None = None, fetch: ModelFetch | None = None) -> FastAPI:
    """The service; `fetch`, when given, is a helper process already fetching its first model (serving/fetch.py)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    metrics = Metrics()
    db = Database(settings.database_url)
    db.migrate()  # before anything reads the database, including the session key below
    holder = ModelHolder(settings, metrics, fetch=fetch)
    recorder = Recorder(db, metrics)
    batcher = MicroBatcher()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with logging_in_background():
            await asyncio.to_thread(bootstrap_keys, app.state.api_keys)
            recorder.start()
            batcher.start()
            # The model loads in the background: /healthz answers at once, /readyz says 503 until it is in.
            watcher = asyncio.create_task(holder.watch())
            log.info("service started", extra={"model_source": holder.source})
            try:
                yield
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
                # Requests have finished by now (uvicorn drains them first): write every record they left.
                await batcher.stop()
                await asyncio.to_thread(recorder.stop)
                db.dispose()

    app = FastAPI(title="Triase", version="1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.service = Service(settings, metrics, holder, recorder, batcher)
    app.state.db = db
    app.state.api_keys = ApiKeys(
        db, cache_seconds=settings.key_cache_seconds, recheck_seconds=settings.key_recheck_seconds
    )
    app.state.rate_limiter = RateLimiter(settings.rate_limit)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret or db.shared_secret("session"),
        session_cookie="triase_session",
        max_age=SESSION_HOURS * 3600,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.add_middleware(RequestContextMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes)
    errors.install(app)
    app.add_exception_handler(pages.LoginRequired, pages.login_redirect)
    app.include_router(router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_api_route("/", lambda: RedirectResponse("/review"), include_in_schema=False)
    return app
