"""Request and response bodies of the API: the one place that defines what goes over the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EXAMPLE_TEXT = "Lampu jalan di Jl. Raja Haji Fisabilillah mati sudah seminggu, gelap dan rawan jambret malam hari."


class PredictRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"text": EXAMPLE_TEXT, "id": "lapor-2026-000123", "channel": "whatsapp"}]},
    )

    text: str = Field(
        min_length=1,
        description="The complaint as the citizen wrote it; trimmed, then 1 to `max_text_chars` (default 20,000) "
        "characters.",
    )
    id: str | None = Field(default=None, max_length=200, description="The caller's id for this complaint, echoed.")
    channel: str | None = Field(
        default=None, max_length=50, description="Where it came from (lapor, whatsapp, web, ...), echoed."
    )
    metadata: dict[str, Any] | None = Field(default=None, description="Anything else the caller wants to attach.")


class BatchRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"items": [{"text": EXAMPLE_TEXT, "id": "a1"}, {"text": "jalan berlubang"}]}]},
    )

    items: list[Any] = Field(
        min_length=1,
        description="Up to `max_batch_items` (default 1,000) objects shaped like the /v1/predict body. An invalid "
        "item is answered with its errors in its own slot; the others are still predicted.",
        json_schema_extra={"items": {"$ref": "#/components/schemas/PredictRequest"}},
    )


class OpdOut(BaseModel):
    code: str = Field(description="Routing code from the taxonomy.")
    name: str = Field(description="The OPD's display name.")
    probability: float


class UrgencyOut(BaseModel):
    label: Literal["darurat", "tinggi", "sedang", "rendah"] = Field(description="Final urgency, after safety rules.")
    probability: float = Field(description="The model's probability for that level.")
    model_label: str = Field(description="The learned model's level before the safety rules.")
    probabilities: dict[str, float]


class RuleFiring(BaseModel):
    rule: str
    raise_to: str
    phrase: str = Field(description="The phrase that fired the rule.")


class Term(BaseModel):
    word: str = Field(description="The words as the citizen wrote them.")
    term: str = Field(description="The model feature (stemmed) they produced.")
    weight: float


class Explanation(BaseModel):
    opd: list[Term] = Field(description="Words that pushed the text to the suggested OPD, strongest first.")
    urgency: list[Term] = Field(description="Words that pushed the text to the model's urgency level.")


class ModelRef(BaseModel):
    name: str
    version: str | None
    run_id: str | None


class PredictResponse(BaseModel):
    request_id: str
    id: str | None = None
    channel: str | None = None
    opd: OpdOut
    alternatives: list[OpdOut] = Field(description="The next two OPDs, most likely first.")
    urgency: UrgencyOut
    urgency_rules: list[RuleFiring] = Field(description="Safety rules that fired (they can only raise urgency).")
    needs_review: bool = Field(description="True when a person should check this suggestion before routing.")
    review_reasons: list[Literal["low_confidence", "close_second", "out_of_vocabulary", "emergency_rule"]]
    explanation: Explanation
    model: ModelRef


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. `text` or `items.3.text`.")
    reason: str
    type: str


class BatchSlot(BaseModel):
    index: int
    ok: bool
    result: PredictResponse | None = None
    errors: list[FieldError] | None = None


class BatchResponse(BaseModel):
    request_id: str
    model: ModelRef
    succeeded: int
    failed: int
    items: list[BatchSlot]


class LoadStatus(BaseModel):
    source: str = Field(description="The configured model URI.")
    watching: bool = Field(description="Whether the alias is polled for new versions.")
    reload_interval_seconds: float
    last_check_at: datetime | None
    last_error: str | None = Field(description="Why the latest load attempt failed, if it did.")
    last_error_at: datetime | None


class ModelInfo(BaseModel):
    name: str
    version: str | None
    run_id: str | None
    uri: str = Field(description="The exact URI loaded.")
    trained_at: str | None
    loaded_at: datetime
    training_metrics: dict[str, float]
    opd_labels: list[str]
    urgency_labels: list[str]
    target_precision: float
    thresholds: dict[str, float] = Field(description="Per-OPD confidence needed to route without review.")
    status: LoadStatus


class TaxonomyOpd(BaseModel):
    code: str
    name: str
    scope: str


class TaxonomyOut(BaseModel):
    opd: list[TaxonomyOpd]
    urgency_levels: list[str]


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    reason: str | None = None
    model: ModelRef | None = None


class ReloadOutcome(BaseModel):
    outcome: Literal["loaded", "unchanged", "failed"]
    model: ModelRef | None
    error: str | None = None


class ErrorBody(BaseModel):
    detail: str | list[FieldError]
    request_id: str | None = None
