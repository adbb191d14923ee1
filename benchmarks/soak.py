"""Soak test (`make soak`, not part of CI): the service under 200 requests/s for 60 s, mixed single and batch
predictions, from an open-loop generator on loopback. Reports errors, latency percentiles and how much the
server's memory grew; writes `benchmarks/out/soak.md`.

    python -m benchmarks.soak [--rate 200] [--seconds 60] [--batch-share 0.2]
"""

from __future__ import annotations

import asyncio
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from benchmarks.loadgen import open_loop
from benchmarks.processes import rss_mib, service_env, start_service, stop
from model.paths import CORPUS_PATH, PROJECT_ROOT

OUT = PROJECT_ROOT / "benchmarks" / "out"


def main(
    rate: Annotated[float, typer.Option(help="Requests per second.")] = 200,
    seconds: Annotated[float, typer.Option(help="Duration of the measured run.")] = 60,
    batch_share: Annotated[float, typer.Option(help="Share of requests that are batches of 10.")] = 0.2,
    workers: Annotated[int, typer.Option(help="Service worker processes.")] = 2,
) -> None:
    texts = pd.read_csv(CORPUS_PATH)["text"].tolist()
    every = max(1, round(1 / batch_share)) if batch_share else 0

    def request(i: int):
        if every and i % every == 0:
            return "POST", "/v1/predict/batch", {"items": [{"text": texts[(i + j) % len(texts)]} for j in range(10)]}
        return "POST", "/v1/predict", {"text": texts[i % len(texts)], "id": f"soak-{i}"}

    work = Path(tempfile.mkdtemp(prefix="triase-soak-"))
    env = service_env(work)
    proc, base, key = start_service(env, work / "serve.log", workers)
    try:
        headers = {"X-API-Key": key}
        typer.echo("warming up (10 s at the same rate)…", err=True)
        asyncio.run(open_loop(base, request, rate=rate, seconds=10, headers=headers))
        rss_before = rss_mib(proc.pid)
        typer.echo(f"measuring: {rate:.0f} requests/s for {seconds:.0f} s…", err=True)
        result = asyncio.run(open_loop(base, request, rate=rate, seconds=seconds, headers=headers))
        rss_after = rss_mib(proc.pid)
    finally:
        stop(proc)
    s = result.summary()
    growth = (rss_after - rss_before) / rss_before
    rows = [
        ("requests sent", f"{s['sent']}", ""),
        ("errors", f"{s['errors']} {result.errors or ''}", "0"),
        ("achieved rate", f"{s['achieved_rps']} /s", f"{rate:.0f} /s"),
        ("latency p50 / p95 / p99 / max", f"{s['p50_ms']} / {s['p95_ms']} / {s['p99_ms']} / {s['max_ms']} ms", ""),
        ("server RSS after warm-up → end", f"{rss_before:.0f} → {rss_after:.0f} MiB ({growth:+.1%})", "< +10%"),
    ]
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    report = (
        f"# Soak test\n\n{time.strftime('%Y-%m-%d %H:%M')} on {platform.node()} ({os.cpu_count()} cores, "
        f"Python {platform.python_version()}); {workers} worker(s); {batch_share:.0%} of requests are batches of 10; "
        f"open-loop generator on the same machine.\n\n| measure | value | target |\n|---|---|---|\n{table}\n"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "soak.md").write_text(report)
    typer.echo(report)
    if s["errors"] or growth >= 0.10:
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
