"""The service's first model, fetched by a helper process while the service imports everything else.

Finding the champion takes MLflow: importing it and opening a client on its store (which checks the store's
schema) cost about 1.4 s of one core on a fast host, twice that on the target machine, and the service's own
imports (scikit-learn, FastAPI, SQLAlchemy) need about as long again. One after the other they made most of
the cold start. `triase serve` therefore starts `python -m serving.fetch` first: on the other core it resolves
the alias and downloads the model's files, and the service, once its own imports are done, only unpickles
them. MLflow is imported into the service after it is ready, to follow the alias (`ModelHolder.watch`).

Only this module's standard-library imports are paid before the helper starts. Whatever goes wrong in the
helper, the service loads the model itself, as it would without one.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from model.predictor import TriageModel

WAIT_SECONDS = 120.0  # for the helper's answer; a store that slow would hold up a load in the service too


@dataclass(frozen=True)
class FetchedModel:
    uri: str  # what was loaded: models:/name/N when the source is an alias
    model: TriageModel
    training_metrics: dict[str, float]


class ModelFetch:
    """A helper process fetching the model at `source` from the store at `tracking_uri` (see the module's doc)."""

    def __init__(self, tracking_uri: str, source: str):
        self.tracking_uri = tracking_uri
        self.source = source
        self._dir = Path(tempfile.mkdtemp(prefix="triase-fetch-"))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "serving.fetch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # it reports on stdout; MLflow's warnings do not belong in the service's log
            text=True,
        )
        # On stdin, not the command line: a tracking URI can hold a password, and command lines are public (ps).
        with contextlib.suppress(BrokenPipeError), self._proc.stdin as request:  # if it died: `load` says so
            request.write(json.dumps({"tracking_uri": tracking_uri, "source": source, "dst": str(self._dir)}))

    def load(self, timeout: float = WAIT_SECONDS) -> FetchedModel:
        """Wait for the helper and load what it fetched; raise with its reason when it could not."""
        from model.predictor import TriageModel  # imported by the service by now; not before the helper starts

        try:
            answer = self._answer(timeout)
            if "error" in answer:
                raise RuntimeError(answer["error"])
            model = TriageModel.load(Path(answer["artifact"]), answer["version"])
            return FetchedModel(answer["uri"], model, answer["training_metrics"])
        finally:
            self.close()

    def _answer(self, timeout: float) -> dict:
        # One line, read as soon as it is written: the helper's own exit need not be waited for.
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        line = self._proc.stdout.readline() if ready else ""
        if not line:
            reason = f"no answer in {timeout:.0f} s" if not ready else f"exited with code {self._proc.wait()}"
            raise RuntimeError(f"start-up fetch helper: {reason}")
        return json.loads(line)

    def close(self) -> None:
        """Stop the helper if it still runs and delete what it downloaded (idempotent)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._proc.stdout.close()
        shutil.rmtree(self._dir, ignore_errors=True)


def fetch(tracking_uri: str, source: str, dst: Path) -> dict:
    """What the helper reports: the model's files in `dst`, which version they are, and its training figures."""
    from training import registry

    try:
        client = registry.registry_client(tracking_uri)
        uri, _ = registry.resolve(source, client)
        files = registry.download_model(uri, client, dst)
        metrics = registry.run_metrics(client, files.run_id)
    except Exception as exc:  # reported to the service, which then loads the model itself and reports properly
        return {"error": f"{type(exc).__name__}: {exc}"[:500]}
    return {"uri": uri, "version": files.version, "artifact": str(files.artifact), "training_metrics": metrics}


if __name__ == "__main__":
    import gc

    gc.disable()  # a short-lived process; its collections would only add to the wait (see serving/main.py)
    sys.modules.setdefault("pyarrow", None)  # MLflow imports pandas, which would import pyarrow for nothing
    request = json.loads(sys.stdin.read())
    print(json.dumps(fetch(request["tracking_uri"], request["source"], Path(request["dst"]))), flush=True)
    os._exit(0)  # skips the interpreter's shutdown: about 0.5 s of MLflow clean-up with nothing to clean
