"""Shared by the serving tests: an app on a copy of the session's MLflow store, with keys of each role."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from serving.apikeys import ApiKeys
from serving.app import create_app
from serving.db import Database
from training.settings import Settings


def serving_settings(store: Settings, root: Path, *, copy_store: bool = False, **overrides) -> Settings:
    """Settings pointing at the session store (or a private copy of its database, for tests that change the
    registry) and at a fresh service database under `root`."""
    tracking_uri = store.tracking_uri
    if copy_store:
        source = Path(store.tracking_uri.removeprefix("sqlite:///"))
        shutil.copy(source, root / "mlflow.db")
        tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    values = dict(
        tracking_uri=tracking_uri,
        artifact_root=store.artifact_root,
        database_url=f"sqlite:///{root / 'service.db'}",
        reload_interval=0,
        key_recheck_seconds=0.5,  # short, so that revocation tests need not wait long
    )
    values.update(overrides)
    return Settings(**values)


@dataclass
class Keys:
    admin: str
    intake: str


def make_keys(settings: Settings) -> Keys:
    db = Database(settings.database_url)
    db.migrate()
    keys = ApiKeys(db)
    admin, _ = keys.create("test-admin", "admin")
    intake, _ = keys.create("test-intake", "intake")
    db.dispose()
    return Keys(admin=admin, intake=intake)


def wait_ready(client: TestClient, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get("/readyz")
        if response.status_code == 200:
            return response.json()
        time.sleep(0.1)
    raise AssertionError(f"not ready after {timeout}s: {response.json()}")


def started(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))
