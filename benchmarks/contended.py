"""Latency at 200 requests/s on a host slowed down to the target machine's speed (`make bench-contended`, not in
CI). Writes `benchmarks/out/contended.md`.

The 2-core hosts these benchmarks run on differ about 3x in speed. On a fast host `make bench` estimates the
target machine's latency by a higher rate and a scaled time, which assumes the host slows down evenly. The slow
hosts seen here were slow the other way: other work shared their cores. This reproduces that: busy processes are
started beside the service, one at a time, until plain PySastrawi (`make bench`'s speed reference) runs about
as slowly as on the target machine; then the service is started and measured as in `make bench` (a warm-up with
every text once, a pause, then `--windows` open-loop windows at `--rate`), the busy processes running throughout.

    python -m benchmarks.contended [--rate 200] [--seconds 30] [--windows 5]
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from benchmarks import http
from benchmarks.perf import PLAIN, PY, TARGET_HOST_PLAIN_COLD_S, timed_script, workload
from benchmarks.processes import service_env, start_service, stop
from model.paths import PROJECT_ROOT

OUT = PROJECT_ROOT / "benchmarks" / "out"
MAX_BUSY = 12


def slow_down(reference: Path, target_seconds: float) -> tuple[list[subprocess.Popen], list[float]]:
    """Busy processes, added one at a time until plain PySastrawi takes at least 95% of `target_seconds`; with
    the reference's time at each step."""
    busy: list[subprocess.Popen] = []
    times = [timed_script(PLAIN, reference, 1)[0]]
    while times[-1] < 0.95 * target_seconds and len(busy) < MAX_BUSY:
        busy.append(subprocess.Popen([PY, "-c", "while True: pass"]))
        times.append(timed_script(PLAIN, reference, 1)[0])
    return busy, times


def main(
    rate: Annotated[float, typer.Option(help="Requests per second.")] = 200,
    seconds: Annotated[float, typer.Option(help="Duration of each measured window.")] = 30,
    windows: Annotated[int, typer.Option(help="Measured windows.")] = 5,
) -> None:
    reference, described = workload(smoke=False)
    texts = pd.read_csv(reference)["text"].astype(str).tolist()[:2000]
    typer.echo(f"slowing this host down to the target machine's speed ({TARGET_HOST_PLAIN_COLD_S} s)…", err=True)
    busy, steps = slow_down(reference, TARGET_HOST_PLAIN_COLD_S)
    work = Path(tempfile.mkdtemp(prefix="triase-contended-"))
    env = service_env(work)
    try:
        typer.echo(f"{len(busy)} busy processes; plain PySastrawi cold {steps[-1]:.2f} s; measuring…", err=True)
        proc, base, key = start_service(env, work / "triase.log")
        try:
            triase = http.triase_target(base, key)
            http.fixed_rate(triase, texts, rate=rate, seconds=len(texts) / rate)  # every text once
            time.sleep(http.SETTLE_SECONDS)
            measured = [http.fixed_rate(triase, texts, rate=rate, seconds=seconds) for _ in range(windows)]
        finally:
            stop(proc)
        after = timed_script(PLAIN, reference, 1)[0]  # the host's speed may drift while it is measured
    finally:
        for p in busy:
            p.kill()
    p99s = [w["p99_ms"] for w in measured]
    lines = [
        "# Latency on a host slowed to the target machine's speed",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M')} on {platform.node()}, {os.cpu_count()} cores. {described}: "
        f"{len(texts):,} of them as bodies. `triase serve`, 1 worker; open loop at {rate:g}/s, {windows} windows of "
        f"{seconds:g} s after a warm-up.",
        "",
        f"Busy processes beside it: {len(busy)}. Plain PySastrawi cold (the speed reference; "
        f"{TARGET_HOST_PLAIN_COLD_S} s on the target machine): {steps[0]:.2f} s unloaded, "
        f"{' → '.join(f'{s:.2f}' for s in steps[1:]) or '—'} s as processes were added, {after:.2f} s after the run.",
        "",
        "| window | answered/s | errors | p50 (ms) | p99 (ms) | max (ms) |",
        "|---|---|---|---|---|---|",
        *(
            f"| {i} | {w['achieved_rps']} | {w['errors']} | {w['p50_ms']} | {w['p99_ms']} | {w['max_ms']} |"
            for i, w in enumerate(measured, 1)
        ),
        "",
        f"Median p99 {statistics.median(p99s):.1f} ms; {sum(p <= 20 for p in p99s)} of {windows} windows at or "
        "under 20 ms (the target).",
    ]
    report = "\n".join(lines) + "\n"
    OUT.mkdir(exist_ok=True)
    (OUT / "contended.md").write_text(report)
    typer.echo(report)


if __name__ == "__main__":
    typer.run(main)
