from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from model.paths import CORPUS_PATH
from training.settings import Settings, get_settings


def store_settings(root: Path) -> Settings:
    return Settings(tracking_uri=f"sqlite:///{root / 'mlflow.db'}", artifact_root=root / "artifacts")


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    """An empty MLflow store of the test's own; the CLI sees it through the environment too."""
    monkeypatch.setenv("TRIASE_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("TRIASE_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    get_settings.cache_clear()
    yield store_settings(tmp_path)
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def store(tmp_path_factory):
    """One store with a champion trained on the bundled corpus, shared by the whole session."""
    from training.train import train

    root = tmp_path_factory.mktemp("store")
    settings = store_settings(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRIASE_TRACKING_URI", settings.tracking_uri)
        mp.setenv("TRIASE_ARTIFACT_ROOT", str(settings.artifact_root))
        get_settings.cache_clear()
        result = train(settings)
        yield settings, result
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def corpus() -> pd.DataFrame:
    return pd.read_csv(CORPUS_PATH, dtype=str, keep_default_na=False)


def client_for(settings: Settings):
    # Name the registry too: otherwise MlflowClient uses whatever registry the process last configured.
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
