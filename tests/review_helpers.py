"""Prediction records made without a model, for the storage and review tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from model.taxonomy import URGENCY_LEVELS, default_taxonomy

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)


def record(i: int, text: str, opd: str = "perhubungan", urgency: str = "sedang", *, p: float = 0.8,
           needs_review: bool = False, version: str = "1", day: int = 0) -> dict:  # fmt: skip
    tax = default_taxonomy()
    others = [c for c in tax.codes if c != opd][:2]
    return {
        "record_id": f"req-{i}",
        "external_id": f"ext-{i}",
        "channel": "web",
        "text": text,
        "received_at": T0 + timedelta(days=day, minutes=i),
        "model_version": version,
        "model_run_id": "run",
        "opd": opd,
        "opd_probability": p,
        "opd_top3": [
            {"code": c, "name": tax.name_of(c), "probability": q}
            for c, q in zip([opd, *others], [p, (1 - p) / 2, (1 - p) / 2], strict=True)
        ],
        "urgency": urgency,
        "urgency_rank": URGENCY_LEVELS.index(urgency),
        "urgency_probability": 0.7,
        "urgency_rules": [],
        "needs_review": needs_review,
        "review_reasons": ["low_confidence"] if needs_review else [],
        "explanation": {
            "opd": [{"word": text.split()[0], "term": text.split()[0].lower(), "weight": 0.3}],
            "urgency": [],
        },
        "status": "baru",
    }
