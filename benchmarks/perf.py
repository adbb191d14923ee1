"""Performance benchmark (`make bench`; `make bench-smoke` is the short CI version): Triase against plain
reference usage, side by side in one run, on real complaint texts when `../shared/datasets` is present (the
bundled corpus otherwise, said in the output). Prints medians and ratios; writes `benchmarks/RESULTS.md`.

Measured: preprocessing (cold and warm) against plain PySastrawi, and that the stems are the same; in-process
prediction latency and batch throughput; Python calls per prediction, in the model alone and through the whole
app, a measure of the service's overhead that does not move with the host (`benchmarks/overhead.py`); HTTP
throughput and latency against `mlflow models serve` (`benchmarks/http.py`); training time and memory from 1k to
32k complaints (`benchmarks/training_cost.py`); the service's footprint (artifact size, cold start to ready,
memory after warm-up).

    python -m benchmarks.perf [--smoke]
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from benchmarks import http, overhead, training_cost
from model.memory import settle_memory
from model.paths import CORPUS_PATH, PROJECT_ROOT
from training import registry, tracking
from training.settings import get_settings

RESULTS = PROJECT_ROOT / "benchmarks" / "RESULTS.md"
# Plain PySastrawi over the 8,288 real texts, cold, on the machine the targets were set on (the issue's own
# measurement). Hosts of the same 2-core kind have run this between 2.1 and 6.5 s, so absolute figures (latency,
# training time, cold start) are reported with this host's speed relative to that one.
TARGET_HOST_PLAIN_COLD_S = 4.9
PY = sys.executable

# Each timing runs in a fresh interpreter so that "cold" really starts with empty caches.
PLAIN = """
import sys, time, pandas as pd
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory
texts = pd.read_csv(sys.argv[1])["text"].astype(str).tolist()
t0 = time.perf_counter(); stemmer = StemmerFactory().create_stemmer()
out = [stemmer.stem(t) for t in texts]; cold = time.perf_counter() - t0
t0 = time.perf_counter(); out = [stemmer.stem(t) for t in texts]; warm = time.perf_counter() - t0
print(cold, warm)
"""
TRIASE = """
import sys, time, pandas as pd
from model.preprocess import IndonesianPreprocessor
texts = pd.read_csv(sys.argv[1])["text"].astype(str).tolist()
t0 = time.perf_counter(); prep = IndonesianPreprocessor().fit([])
out = prep.transform(texts); cold = time.perf_counter() - t0
t0 = time.perf_counter(); out = prep.transform(texts); warm = time.perf_counter() - t0
print(cold, warm)
"""


def workload(smoke: bool) -> tuple[Path, str]:
    """A CSV of complaint texts (only the text column is read) and a description of it."""
    real = get_settings().shared_datasets / "surabaya-2022.csv"
    source, name = (real, "real Surabaya 2022 complaints") if real.is_file() else (CORPUS_PATH, "bundled corpus")
    texts = pd.read_csv(source, usecols=["text"])
    if smoke:
        texts = texts.head(200)
    path = Path(tempfile.mkdtemp(prefix="triase-bench-")) / "texts.csv"
    texts.to_csv(path, index=False)
    return path, f"{len(texts):,} {name}"


def timed_script(code: str, path: Path, repeats: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeats):
        out = subprocess.run([PY, "-c", code, str(path)], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT)
        runs.append(tuple(float(x) for x in out.stdout.split()))
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def prediction_figures(texts: list[str], n: int) -> dict[str, float]:
    settings = get_settings()
    model = tracking.load_model(settings.champion_uri, registry.registry_client(settings.tracking_uri))
    settle_memory()  # as the service and `triase predict` do after loading
    sample = texts[:n]
    for t in sample[:20]:
        model.predict([t])
    latencies = []
    for t in sample:
        t0 = time.perf_counter()
        model.predict([t])
        latencies.append(time.perf_counter() - t0)
    batch = (texts * (1 + 1000 // max(1, len(texts))))[:1000]
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        model.predict(batch, explain=False)
        runs.append(time.perf_counter() - t0)
    batch_seconds = statistics.median(runs)
    return {
        "p50_ms": float(np.percentile(latencies, 50)) * 1000,
        "p99_ms": float(np.percentile(latencies, 99)) * 1000,
        "batch_per_s": len(batch) / batch_seconds,
    }


def footprint(starts: int = 3) -> dict:
    """Artifact size; `starts` fresh `triase serve` processes timed from launch to ready (the median reported,
    each shown: one start varies by a second on a noisy host); the last one's memory after warm-up."""
    import httpx

    from benchmarks.processes import create_key, rss_mib, service_env, start_service, stop

    settings = get_settings()
    client = registry.registry_client(settings.tracking_uri)
    location, _ = registry.model_location(settings.champion_uri, client)
    artifact = sum(f.stat().st_size for f in Path(location.removeprefix("file://")).rglob("*") if f.is_file())
    work = Path(tempfile.mkdtemp(prefix="triase-bench-"))
    env = service_env(work)
    key = create_key(env)  # a separate command: not part of the service's start
    readies = []
    for i in range(starts):
        t0 = time.perf_counter()
        proc, base, key = start_service(env, work / "serve.log", key=key)
        readies.append(time.perf_counter() - t0)
        if i < starts - 1:
            stop(proc)
    try:
        texts = pd.read_csv(CORPUS_PATH)["text"].tolist()[:200]
        for t in texts:
            httpx.post(f"{base}/v1/predict", json={"text": t}, headers={"X-API-Key": key})
        rss = rss_mib(proc.pid)
    finally:
        stop(proc)
    return {"artifact_mib": artifact / 2**20, "ready_s": statistics.median(readies), "readies": readies, "rss_mib": rss}


def stem_identity(texts: list[str]) -> tuple[int, int]:
    """(words checked, words whose stem differs from plain PySastrawi's): every distinct word Triase stemmed
    while preprocessing `texts` (protected words and placeholders are not stemmed, by design)."""
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    from model import normalize
    from model.preprocess import IndonesianPreprocessor

    IndonesianPreprocessor().fit([]).transform(texts)
    plain = StemmerFactory().create_stemmer()
    stems = normalize.stems_so_far()
    return len(stems), sum((plain.stem(word) or word) != stem for word, stem in stems.items())


def main(
    smoke: Annotated[bool, typer.Option(help="Small and short everywhere: checks the script works.")] = False,
    http_seconds: Annotated[float, typer.Option(help="Duration of each HTTP measurement.")] = 30,
    rate: Annotated[float, typer.Option(help="Fixed request rate for the HTTP latency comparison.")] = 200,
):
    path, described = workload(smoke)
    repeats = 1 if smoke else 3
    typer.echo(f"workload: {described}; {repeats} run(s) each, medians", err=True)
    texts = pd.read_csv(path)["text"].astype(str).tolist()
    typer.echo("preprocessing, plain and Triase, cold and warm…", err=True)
    plain_cold, plain_warm = timed_script(PLAIN, path, repeats)
    ours_cold, ours_warm = timed_script(TRIASE, path, repeats)
    checked, differing = stem_identity(texts)
    typer.echo("in-process prediction…", err=True)
    pred = prediction_figures(texts, 100 if smoke else 1000)
    calls = overhead.calls_per_prediction(texts, 50 if smoke else 300)
    typer.echo("HTTP: triase serve against mlflow models serve…", err=True)
    settings = get_settings()
    # On a host faster than the target machine the same load is a lighter one: a window at the rate times the
    # speed-up keeps the server as busy as the rate would keep it there (an estimate; see the report's note).
    speed = TARGET_HOST_PLAIN_COLD_S / plain_cold
    estimate = not smoke and speed > 1.2
    http_rate = 20 if smoke else rate
    scaled_rate = None
    if estimate:
        scaled_rate = http_rate * speed
    elif smoke:
        scaled_rate = 2 * http_rate  # no estimate from 200 texts, but the window and its row still get exercised
    web = http.compare(
        settings.champion_uri,
        texts[:2000],
        seconds=2 if smoke else http_seconds,
        rate=http_rate,
        scaled_rate=scaled_rate,
    )
    typer.echo("training cost growth…", err=True)
    real = settings.shared_datasets / "surabaya-2022.csv"
    sizes = [1000] if smoke else [1000, 2000, 4000, 8000, 32000]
    grown, exponent = training_cost.growth(real, sizes) if real.is_file() else ([], float("nan"))
    typer.echo("footprint…", err=True)
    foot = footprint(1 if smoke else 3)
    t, m = web["triase"], web["mlflow"]
    readies = foot["readies"]
    starts = f" (median of {len(readies)} starts: {', '.join(f'{x:.1f}' for x in readies)})" if len(readies) > 1 else ""

    def on_target(x: float) -> str:
        """A time measured here, as it would be on the target machine (in proportion to the host's speed)."""
        return f" (about {x * speed:.1f} on the target machine)" if estimate else ""

    scaled_rows = []
    if "scaled" in t:
        sc = t["scaled"]
        scaled_rows.append((
            f"HTTP at {sc['rate']:.0f}/s ("
            + (f"as busy as {t['rate']:.0f}/s on the target machine" if estimate else "twice the rate") + "): "
            "p50 / p99 (ms)", "",
            f"{sc['p50_ms']:.1f} / {sc['p99_ms']:.1f}{on_target(sc['p99_ms'])}", "", "p99 <= 20",
        ))  # fmt: skip
    rows = [
        ("preprocess, cold (s)", f"{plain_cold:.2f}", f"{ours_cold:.2f}", f"{plain_cold / ours_cold:.1f}x", ">= 2x"),
        ("preprocess, warm (s)", f"{plain_warm:.2f}", f"{ours_warm:.2f}", f"{plain_warm / ours_warm:.1f}x", ">= 5x"),
        ("stems differing from plain PySastrawi", "", f"{differing} of {checked:,}", "", "0"),
        ("predict one, p50 (ms)", "", f"{pred['p50_ms']:.2f}", "", "<= 2"),
        ("predict one, p99 (ms)", "", f"{pred['p99_ms']:.2f}", "", "<= 10"),
        ("predict batch (complaints/s)", "", f"{pred['batch_per_s']:.0f}", "", ">= 2000"),
        ("Python calls per prediction: model alone / whole app", "", f"{calls['model']:.0f} / {calls['app']:.0f}",
         "", "reported"),
        ("HTTP, 50 connections (requests/s)", f"{m['rps']:.0f}", f"{t['rps']:.0f}", f"{t['rps'] / m['rps']:.1f}x",
         ">= 3x"),
        (f"HTTP at {t['rate']:.0f}/s: p50 / p99 (ms)", f"{m['p50_ms']:.1f} / {m['p99_ms']:.1f} (at {m['rate']:.0f}/s)",
         f"{t['p50_ms']:.1f} / {t['p99_ms']:.1f} (median of 3 windows; p99s "
         + ", ".join(f"{x:.1f}" for x in t["p99_windows"]) + ")", "", "p99 <= 20"),
        *scaled_rows,
        (f"HTTP at {t['rate']:.0f}/s: answered / errors", f"{m['achieved_rps']:.0f}/s / {m['errors']}",
         f"{t['achieved_rps']:.0f}/s / {t['errors']}", "", "0 errors"),
        *[
            (f"train on {r['size']:,} ({r['used']:,} used): time (s) / peak (MiB)", "",
             f"{r['seconds']:.1f} / {r['peak_mib']:.0f}" + (on_target(r["seconds"]) if r["size"] == 8000 else ""),
             "", "8k: <= 60 s, <= 1536 MiB" if r["size"] == 8000 else "")
            for r in grown
        ],
        ("training time growth exponent (2k and up)", "", f"{exponent:.2f}", "", "reported"),
        ("model artifact (MiB)", "", f"{foot['artifact_mib']:.1f}", "", "reported"),
        ("cold start to ready (s)", "", f"{foot['ready_s']:.1f}{starts}{on_target(foot['ready_s'])}", "", "<= 5"),
        ("serving RSS after warm-up (MiB)", "", f"{foot['rss_mib']:.0f}", "", "<= 400"),
    ]  # fmt: skip
    table = "| measure | reference | Triase | ratio | target |\n|---|---|---|---|---|\n" + "\n".join(
        "| " + " | ".join(r) + " |" for r in rows
    )
    machine = f"{platform.node()}, {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    report = (
        f"# Performance results\n\n{time.strftime('%Y-%m-%d %H:%M')} on {machine}.\n"
        f"Workload: {described}. References, run side by side in the same invocation: preprocessing against plain "
        "PySastrawi (one `StemmerFactory().create_stemmer()`, then `.stem(text)` per document; cold = a fresh "
        "interpreter, warm = the same work again in it); HTTP against `mlflow models serve --env-manager local` on "
        "the same registered model, one worker each, real texts as bodies (throughput: `wrk`, 2 threads, 50 "
        "connections, closed loop; latency: open-loop generator at a fixed rate, from the scheduled send time).\n\n"
        f"{table}\n"
    )
    if not smoke:
        report += (
            f"\nHost speed: plain PySastrawi cold took {plain_cold:.2f} s here against {TARGET_HOST_PLAIN_COLD_S} s "
            "on the machine the targets were set on, so this host ran about "
            f"{speed:.1f}x as fast; ratios compare like with like, absolute figures do not. The estimate for the "
            "target machine's latency assumes the server, the load generator and the host slow down together in "
            "that proportion: a host that is slow because other tenants share its cores adds pauses of its own.\n"
        )
    typer.echo(report)
    if not smoke:
        RESULTS.write_text(report)


if __name__ == "__main__":
    typer.run(main)
