"""Runtime settings, read from the environment or `.env` (prefix `TRIASE_`).

The one place for where MLflow lives, what the registered model is called, where shared data is, and how the
prediction service behaves. The README's settings table lists every field (a test checks it).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from model import MODEL_NAME
from model.paths import PROJECT_ROOT


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIASE_", env_file=".env", extra="ignore", populate_by_name=True)

    tracking_uri: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'mlflow.db'}",
        validation_alias=AliasChoices("TRIASE_TRACKING_URI", "MLFLOW_TRACKING_URI"),
        description="MLflow tracking and registry store (default: SQLite file in the project).",
    )
    artifact_root: Path = Field(
        default=PROJECT_ROOT / "mlartifacts",
        description="Where a newly created experiment stores artifacts.",
    )
    experiment: str = "complaint-triage"
    registered_model: str = MODEL_NAME
    champion_alias: str = "champion"
    shared_datasets: Path = Field(
        default=PROJECT_ROOT.parent / "shared" / "datasets",
        description="Folder with the real-complaint evaluation sets (optional).",
    )

    # --- serving -------------------------------------------------------------------------------------------
    model_uri: str | None = Field(
        default=None,
        description="Model the service loads: any MLflow model URI or local path [default: the champion alias].",
    )
    reload_interval: float = Field(
        default=30.0, ge=0, description="Seconds between checks of the alias for a new version (0: never)."
    )
    target_precision: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Auto-route precision target for the review thresholds [default: the one the model was trained "
        "with].",
    )
    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'triase.db'}",
        description="Service database (API keys, prediction records, reviews, staff): SQLAlchemy URL; SQLite file "
        "in the project by default.",
    )
    max_text_chars: int = Field(default=20_000, ge=1, description="Longest complaint text accepted, in characters.")
    max_batch_items: int = Field(default=1_000, ge=1, description="Most items in one /v1/predict/batch request.")
    max_body_bytes: int = Field(default=1 << 20, ge=1024, description="Largest request body accepted, in bytes.")
    log_level: str = Field(default="INFO", description="Log level of the service's JSON logs.")
    session_secret: str | None = Field(
        default=None,
        description="Key that signs review-page session cookies [default: random, made once and kept in the database].",
    )
    rate_limit: str = Field(
        default="600/minute",
        description="Requests allowed per API key and worker, e.g. `600/minute` or `20/second` (empty: no limit).",
    )
    key_cache_seconds: float = Field(
        default=900.0,
        ge=0,
        description="While the database is unreachable, keys verified within this many seconds still work.",
    )
    key_recheck_seconds: float = Field(
        default=5.0,
        ge=0,
        description="A verified API key is trusted this long before the database is asked again, so a revocation "
        "takes effect within this time (0: check every request).",
    )
    secure_cookies: bool = Field(default=False, description="Send session cookies over HTTPS only (set behind TLS).")

    @property
    def champion_uri(self) -> str:
        return f"models:/{self.registered_model}@{self.champion_alias}"

    @property
    def serving_uri(self) -> str:
        return self.model_uri or self.champion_uri


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
