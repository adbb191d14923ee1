"""FastAPI dependencies: the service's parts, the served model and API-key access by role."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from serving.apikeys import ApiKeys, DatabaseUnavailable, KeyInfo
from serving.batcher import MicroBatcher
from serving.loader import LoadedModel, ModelHolder
from serving.metrics import Metrics
from serving.ratelimit import RateLimiter
from serving.recorder import Recorder
from training.settings import Settings

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key from `triase apikey create` (role intake or admin)."
)


@dataclass(frozen=True)
class Service:
    """The parts of the running service that routes use, made once in `create_app` and kept in `app.state`.

    Routes take them as one dependency: FastAPI resolves every dependency of every request, and with one per
    part the app made 2,110 Python calls per prediction instead of 1,849, about 700 of them the model's own
    (`benchmarks/overhead.py`).
    """

    settings: Settings
    metrics: Metrics
    holder: ModelHolder
    recorder: Recorder
    batcher: MicroBatcher


# The cheap dependencies are `async def` so that FastAPI calls them directly instead of through its thread pool.
async def get_service(request: Request) -> Service:
    return request.app.state.service


async def served_model(request: Request) -> LoadedModel:
    """The model to answer with; taken once per request so a swap mid-request cannot mix versions."""
    # `get_service` called, not declared as a sub-dependency: FastAPI's solving of a nested dependency cost about
    # 60 Python calls per request (1,873 -> 1,813 through the app, `benchmarks/overhead.py`).
    holder = (await get_service(request)).holder
    loaded = holder.current
    if loaded is None:
        reason = holder.status.last_error or "the model is still loading"
        raise HTTPException(503, f"no model loaded yet: {reason}", headers={"Retry-After": "5"})
    return loaded


async def _authenticate(request: Request, key: str | None) -> KeyInfo:
    if not key:
        raise HTTPException(401, "missing API key: send it in the X-API-Key header", {"WWW-Authenticate": "APIKey"})
    keys: ApiKeys = request.app.state.api_keys
    # A key checked a moment ago needs no database; otherwise the lookup runs off the event loop.
    info = keys.recently_verified(key)
    if info is None:
        try:
            info = await asyncio.to_thread(keys.verify, key)
        except DatabaseUnavailable as exc:
            raise HTTPException(503, str(exc), {"Retry-After": "5"}) from None
    if info is None:
        raise HTTPException(401, "invalid or revoked API key", {"WWW-Authenticate": "APIKey"})
    limiter: RateLimiter = request.app.state.rate_limiter
    retry_after = limiter.hit(info.prefix)
    if retry_after is not None:
        raise HTTPException(
            429, f"rate limit of {limiter.limit} for this key reached", {"Retry-After": str(retry_after)}
        )
    return info


async def intake_key(request: Request, key: Annotated[str | None, Security(api_key_header)]) -> KeyInfo:
    """Any active key: intake systems and admins may predict and read model information."""
    return await _authenticate(request, key)


async def admin_key(request: Request, key: Annotated[str | None, Security(api_key_header)]) -> KeyInfo:
    info = await _authenticate(request, key)
    if info.role != "admin":
        raise HTTPException(403, f"this needs an admin key; key {info.name!r} has role {info.role!r}")
    return info


Model = Annotated[LoadedModel, Depends(served_model)]
IntakeKey = Annotated[KeyInfo, Depends(intake_key)]
AdminKey = Annotated[KeyInfo, Depends(admin_key)]
ServiceDep = Annotated[Service, Depends(get_service)]
