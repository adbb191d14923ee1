from __future__ import annotations

import os
import uuid
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


# The real complaint set, for the tests that measure on it; they skip, saying why, where it is absent.
REAL_COMPLAINTS = Settings().shared_datasets / "surabaya-2022.csv"
needs_real_complaints = pytest.mark.skipif(
    not REAL_COMPLAINTS.is_file(), reason=f"real complaints not found at {REAL_COMPLAINTS} (set TRIASE_SHARED_DATASETS)"
)


def client_for(settings: Settings):
    from training.registry import registry_client

    return registry_client(settings.tracking_uri)


POSTGRES_URL = os.environ.get("TRIASE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """A fresh PostgreSQL database for this test session (dropped afterwards).

    Skipped, saying why, when no server answers, unless TRIASE_REQUIRE_POSTGRES=1 (as `.ci/run` sets): then
    a missing server is a failure, so CI cannot pass without running the PostgreSQL variant.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:
        if os.environ.get("TRIASE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required but not reachable at {POSTGRES_URL}: {exc}")
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL} ({type(exc).__name__}); set TRIASE_TEST_POSTGRES_URL")
    name = f"triase_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """Each storage and review test runs once on SQLite and once on PostgreSQL (an empty schema each time)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def postgres_url(postgres_server_url) -> str:
    """The session's PostgreSQL database with an empty schema."""
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres_server_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return postgres_server_url
