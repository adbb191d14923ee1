"""Starting and stopping the servers the benchmarks measure: `triase serve` and `mlflow models serve`, each on
a free port of its own, and reading their memory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from training.settings import get_settings

BIN = Path(sys.executable).parent


def rss_mib(pid: int) -> float:
    """Resident memory of a process and all its children (the uvicorn workers), in MiB."""
    total = 0
    for p in [pid, *_children(pid)]:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *_children(int(child))]
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env(work: Path) -> dict:
    """This process's environment for a measured service: its own database under `work`, and no rate limit."""
    return {**os.environ, "TRIASE_DATABASE_URL": f"sqlite:///{work / 'service.db'}", "TRIASE_RATE_LIMIT": ""}


def create_key(env: dict) -> str:
    return subprocess.run(
        [BIN / "triase", "apikey", "create", "soak", "--role", "admin"], env=env, capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip


def start_service(env: dict, log: Path, workers: int = 1, key: str | None = None) -> tuple[subprocess.Popen, str, str]:
    """A fresh `triase serve` on the project's MLflow store, with its own database and key (made if not given)."""
    key = key or create_key(env)
    port = free_port()
    proc = subprocess.Popen(
        [BIN / "triase", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    _wait_until(f"{base}/readyz", proc, log, timeout=120)
    return proc, base, key


def start_mlflow(model_uri: str, env: dict, log: Path) -> tuple[subprocess.Popen, str]:
    """`mlflow models serve` (one worker, this environment) for `model_uri` in the project's registry."""
    port = free_port()
    settings = get_settings()
    env = {
        **env,
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
        "MLFLOW_REGISTRY_URI": settings.tracking_uri,
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",  # mlflow starts `uvicorn` by name: use this environment's
    }
    proc = subprocess.Popen(
        [BIN / "mlflow", "models", "serve", "-m", model_uri, "-p", str(port), "-w", "1", "--env-manager", "local"],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    _wait_until(f"{base}/ping", proc, log, timeout=180)
    return proc, base


def _wait_until(url: str, proc: subprocess.Popen, log: Path, *, timeout: float) -> None:
    """Return once `url` answers 200; kill the server and raise if it exits or `timeout` passes first."""
    deadline = time.monotonic() + timeout
    # One client for all the polls: `httpx.get` makes a new one each time, and building its TLS context took
    # 24 ms of CPU per poll, a third of a core taken from the start being timed.
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{url} did not answer; see {log}")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM, as a supervisor would; kill only if it has not exited within a minute."""
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
