"""Runtime settings, read from the environment or `.env` (prefix `TRIASE_`).

The one place for where MLflow lives, what the registered model is called and where shared data is.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from model.paths import PROJECT_ROOT
from model.predictor import MODEL_NAME


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

    @property
    def champion_uri(self) -> str:
        return f"models:/{self.registered_model}@{self.champion_alias}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
