"""HTTP serving: `triase serve` against `mlflow models serve` on the same registered model, one worker each.

Both get the same real complaint texts as bodies, from the same load generators, one server at a time:
- throughput: `wrk` (C, from Debian; `make bench-tools`) with 50 connections, closed loop;
- latency at a fixed rate, after a pause that lets the server settle: the open-loop generator in
  `benchmarks/loadgen.py`, latency counted from the scheduled send time, so a server that falls behind shows it.

The request bodies are written to a temporary directory at run time, never into the repository.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.loadgen import open_loop
from benchmarks.processes import service_env, start_mlflow, start_service, stop

# Latency is measured on a settled server: the saturating throughput run leaves work queued (Triase's record
# writer catches up on the predictions it answered), which is recovery, not steady state.
SETTLE_SECONDS = 10.0
WRK_SCRIPT = """
local bodies = {}
for line in io.lines("%s") do bodies[#bodies + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
%s
request = function()
  i = i %% #bodies + 1
  return wrk.format(nil, "%s", nil, bodies[i])
end
"""


@dataclass(frozen=True)
class Target:
    name: str
    base: str
    path: str
    headers: dict[str, str]
    body: callable  # text -> JSON body


def triase_target(base: str, key: str) -> Target:
    return Target("triase", base, "/v1/predict", {"X-API-Key": key}, lambda t: {"text": t})


def wrk_rps(target: Target, texts: list[str], work: Path, *, connections: int, seconds: float) -> float:
    """Requests/s answered with 2xx by `target` under `wrk`, or raise if some were not."""
    bodies = work / f"{target.name}.jsonl"
    bodies.write_text("\n".join(json.dumps(target.body(t)) for t in texts) + "\n")
    headers = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in target.headers.items())
    script = work / f"{target.name}.lua"
    script.write_text(WRK_SCRIPT % (bodies, headers, target.path))
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "-s", str(script), target.base],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    if "Non-2xx" in out:
        raise RuntimeError(f"{target.name} answered errors under wrk:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def fixed_rate(target: Target, texts: list[str], *, rate: float, seconds: float) -> dict[str, float]:
    def request(i: int):
        return "POST", target.path, target.body(texts[i % len(texts)])

    result = asyncio.run(open_loop(target.base, request, rate=rate, seconds=seconds, headers=target.headers))
    return result.summary()


def compare(
    model_uri: str,
    texts: list[str],
    *,
    seconds: float,
    rate: float,
    connections: int = 50,
    scaled_rate: float | None = None,
) -> dict:
    """Throughput under wrk and latency at `rate` for both servers, one after the other; for Triase, also one
    window at `scaled_rate` (a faster host's equivalent of `rate` on a slower one) when given."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: run `make bench-tools`")
    work = Path(tempfile.mkdtemp(prefix="triase-http-"))
    env = service_env(work)
    figures: dict[str, dict] = {}
    proc, base, key = start_service(env, work / "triase.log")
    try:
        triase = triase_target(base, key)
        fixed_rate(triase, texts, rate=rate, seconds=min(len(texts) / rate, seconds))  # warm-up: every text once
        rps = wrk_rps(triase, texts, work, connections=connections, seconds=seconds)
        time.sleep(min(SETTLE_SECONDS, seconds))
        # One window's p99 rests on its few slowest requests, which vary from run to run on a shared machine:
        # three windows, the median one reported, every window's p99 shown.
        windows = sorted((fixed_rate(triase, texts, rate=rate, seconds=seconds) for _ in range(3)),
                         key=lambda w: w["p99_ms"])  # fmt: skip
        figures["triase"] = {"rps": rps, "rate": rate, **windows[1], "p99_windows": [w["p99_ms"] for w in windows]}
        if scaled_rate:
            figures["triase"]["scaled"] = {
                "rate": scaled_rate,
                **fixed_rate(triase, texts, rate=scaled_rate, seconds=seconds),
            }
    finally:
        stop(proc)
    proc, base = start_mlflow(model_uri, env, work / "mlflow.log")
    try:
        mlflow = Target("mlflow", base, "/invocations", {}, lambda t: {"dataframe_records": [{"text": t}]})
        fixed_rate(mlflow, texts, rate=rate / 4, seconds=min(5.0, seconds))  # warm-up
        rps = wrk_rps(mlflow, texts, work, connections=connections, seconds=seconds)
        time.sleep(min(SETTLE_SECONDS, seconds))
        # Past what it can sustain an open-loop queue only grows: measure it at a rate it can keep up with.
        sustainable = min(rate, 0.8 * rps)
        figures["mlflow"] = {
            "rps": rps,
            "rate": sustainable,
            **fixed_rate(mlflow, texts, rate=sustainable, seconds=seconds),
        }
    finally:
        stop(proc)
    return figures
