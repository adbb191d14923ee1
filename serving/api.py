"""The HTTP routes. Each one is thin: check access, take the served model, hand over to `predictions`."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from model.taxonomy import default_taxonomy
from serving import predictions
from serving.deps import AdminKey, IntakeKey, Model, Service, ServiceDep
from serving.schemas import (
    BatchRequest,
    BatchResponse,
    ErrorBody,
    Health,
    LoadStatus,
    ModelInfo,
    PredictRequest,
    PredictResponse,
    Readiness,
    ReloadOutcome,
    TaxonomyOut,
)

ERRORS = {
    400: {"model": ErrorBody, "description": "The body could not be parsed (not UTF-8 JSON text)."},
    401: {"model": ErrorBody, "description": "Missing, invalid or revoked API key."},
    413: {"model": ErrorBody, "description": "Request body over `max_body_bytes` (default 1 MiB)."},
    429: {"model": ErrorBody, "description": "This key's rate limit is reached; see Retry-After."},
    422: {"model": ErrorBody, "description": "A field is missing, malformed, too long or not allowed."},
    503: {"model": ErrorBody, "description": "No model loaded yet (see /readyz)."},
}

router = APIRouter()
# Routes that only read memory are `async def`: FastAPI runs a plain `def` route in its thread pool, and the hand-over
# of the interpreter to that thread and back cost a busy service milliseconds per request (probes included).


@router.post("/v1/predict", response_model=PredictResponse, responses=ERRORS, tags=["predict"])
async def predict(
    body: PredictRequest, request: Request, key: IntakeKey, loaded: Model, service: ServiceDep
) -> PredictResponse:
    """Suggest the OPD (with two alternatives) and the urgency of one complaint, and say whether a person
    should review it."""
    predictions.check_length(body, service.settings.max_text_chars)
    return await predictions.predict_one(body, loaded, request.state, service)


@router.post("/v1/predict/batch", response_model=BatchResponse, responses=ERRORS, tags=["predict"])
async def predict_batch(
    body: BatchRequest, request: Request, key: IntakeKey, loaded: Model, service: ServiceDep
) -> BatchResponse:
    """Predict up to `max_batch_items` complaints at once. Each slot says `ok` with its result, or its errors."""
    limit = service.settings.max_batch_items
    if len(body.items) > limit:
        predictions.reject_batch_size(len(body.items), limit)
    slots = await predictions.predict_batch(body.items, loaded, request.state.request_id, service)
    succeeded = sum(s.ok for s in slots)
    return BatchResponse(
        request_id=request.state.request_id,
        model=predictions.model_ref(loaded),
        succeeded=succeeded,
        failed=len(slots) - succeeded,
        items=slots,
    )


@router.get("/v1/model", response_model=ModelInfo, responses=ERRORS, tags=["model"])
async def model_info(key: IntakeKey, loaded: Model, service: ServiceDep) -> ModelInfo:
    """The model being served: version, run, training figures, label sets, review thresholds, reload status."""
    m = loaded.model
    return ModelInfo(
        name=m.name,
        version=m.version,
        run_id=m.run_id,
        uri=loaded.uri,
        trained_at=m.trained_at,
        loaded_at=loaded.loaded_at,
        training_metrics=loaded.training_metrics,
        opd_labels=m.opd_classes,
        urgency_labels=m.urgency_classes,
        target_precision=loaded.target_precision,
        thresholds=loaded.thresholds,
        status=load_status(service),
    )


def load_status(service: Service) -> LoadStatus:
    holder, settings = service.holder, service.settings
    return LoadStatus(
        source=holder.source,
        watching=holder.watches_alias and settings.reload_interval > 0,
        reload_interval_seconds=settings.reload_interval,
        last_check_at=holder.status.last_check_at,
        last_error=holder.status.last_error,
        last_error_at=holder.status.last_error_at,
    )


@router.get("/v1/taxonomy", response_model=TaxonomyOut, responses={k: ERRORS[k] for k in (401, 429, 503)},
            tags=["model"])  # fmt: skip
async def taxonomy(key: IntakeKey, service: ServiceDep) -> TaxonomyOut:
    """The OPD routing codes with their names and scope, and the urgency scale (most urgent first)."""
    current = service.holder.current
    tax = current.model.taxonomy if current else default_taxonomy()
    return TaxonomyOut(
        opd=[{"code": o.code, "name": o.name, "scope": o.scope} for o in tax.opds],
        urgency_levels=list(tax.urgency_levels),
    )


ADMIN_ERRORS = {**{k: ERRORS[k] for k in (401, 429, 503)}, 403: {"model": ErrorBody, "description": "Not admin."}}


@router.post("/v1/admin/reload", response_model=ReloadOutcome, responses=ADMIN_ERRORS, tags=["admin"])
async def reload(key: AdminKey, service: ServiceDep) -> ReloadOutcome:
    """Check the model source now; load, prove and swap in a new version if there is one."""
    holder = service.holder
    outcome = await asyncio.to_thread(holder.check, True)
    current = holder.current
    return ReloadOutcome(
        outcome=outcome,
        model=predictions.model_ref(current) if current else None,
        error=holder.status.last_error if outcome == "failed" else None,
    )


@router.get("/healthz", response_model=Health, tags=["operations"])
async def healthz() -> Health:
    """Liveness: the process answers. Cheap on purpose; says nothing about the model."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}}, tags=["operations"])
async def readyz(service: ServiceDep) -> Response:
    """Readiness: 200 once a model is loaded and has passed its smoke prediction, else 503 with the reason."""
    holder = service.holder
    current = holder.current
    if current is None:
        reason = holder.status.last_error or "loading the model"
        return JSONResponse(status_code=503, content=Readiness(status="not_ready", reason=reason).model_dump())
    return JSONResponse(Readiness(status="ready", model=predictions.model_ref(current)).model_dump())


@router.get("/metrics", tags=["operations"], response_class=Response)
def metrics(service: ServiceDep) -> Response:
    """Prometheus metrics (text exposition format)."""
    return Response(service.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")
