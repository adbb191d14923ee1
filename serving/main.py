"""The service's entry module, imported so that it starts lean and fast: `triase serve` imports it before
anything else heavy (and hands its app factory to uvicorn when it runs several workers).

Two process-wide settings are made here, before the heavy imports, and only for the service process: the CLI
and the tests import `serving.app` directly and keep Python's defaults.

**No pyarrow.**
pandas imports pyarrow whenever it is installed (MLflow installs it), and scikit-learn and MLflow both import
pandas. The service never reads or writes Arrow data, yet pyarrow's libraries were 36 MiB of a 378 MiB serving
process. Python's own way to mark a module absent is a `None` entry in `sys.modules`; pandas, scikit-learn and
MLflow treat pyarrow as optional and carry on without it (training, which reads Parquet, keeps it).

**No automatic garbage collection until the model is in.** Importing scikit-learn, MLflow, FastAPI and
SQLAlchemy and unpickling the model create about half a million objects, and the collector keeps walking them
as they pile up: 0.4 s of a 2.0 s import, and a third of the unpickling (measured on a fast host; twice that on
the target machine). `ModelHolder.watch` switches collection back on after its first load attempt, whatever
its outcome; a successful load has first frozen the start-up's objects out of the collector's view
(`settle_memory`).
"""

from __future__ import annotations

import gc
import sys

gc.disable()
if "pandas" not in sys.modules:  # too late once pandas has pyarrow; then this changes nothing
    sys.modules.setdefault("pyarrow", None)

from serving.app import bootstrap_keys, create_app  # noqa: E402 - after the settings above, on purpose

__all__ = ["bootstrap_keys", "create_app"]
