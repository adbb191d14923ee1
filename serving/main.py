"""The module `triase serve` hands to uvicorn: the app factory, imported so that pyarrow stays out of the process.

pandas imports pyarrow whenever it is installed (MLflow installs it), and scikit-learn and MLflow both import
pandas. The service never reads or writes Arrow data, yet pyarrow's libraries were 36 MiB of a 378 MiB serving
process. Python's own way to mark a module absent is a `None` entry in `sys.modules`; pandas, scikit-learn and
MLflow treat pyarrow as optional and carry on without it. Only the service process does this: the CLI and the
tests import `serving.app` directly and keep pyarrow (training reads Parquet).
"""

from __future__ import annotations

import sys

if "pandas" not in sys.modules:  # too late once pandas has pyarrow; then this changes nothing
    sys.modules.setdefault("pyarrow", None)

from serving.app import bootstrap_keys, create_app

__all__ = ["bootstrap_keys", "create_app"]
