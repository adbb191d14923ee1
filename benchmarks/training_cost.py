"""Training cost growth: `triase train` on 1k, 2k, 4k, 8k real complaints (and 32k by resampling them with light
perturbation), each in a fresh process with its own, already created MLflow store; wall time and peak memory,
and the growth exponent of time against size (the slope of log time on log size).

The samples are written to a temporary directory at run time, never into the repository.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from training.train import load_params

BIN = Path(sys.executable).parent
# Runs the command and reports its wall time and the peak resident memory of the process tree below it.
MEASURE = """
import resource, subprocess, sys, time
t0 = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - t0
if done.returncode:
    sys.exit(done.stdout[-2000:] + done.stderr[-2000:])
print(seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def perturb(text: str, rng: random.Random) -> str:
    """A light edit of the kind citizens make: one word dropped, or two neighbouring letters swapped."""
    words = text.split()
    if len(words) > 3 and rng.random() < 0.5:
        del words[rng.randrange(len(words))]
    else:
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 3:
            j = rng.randrange(len(w) - 1)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def sample(frame: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """`n` complaints (resampled and perturbed past the data's size), minus classes too small to train on."""
    min_class_count = load_params()["validation"]["min_class_count"]
    if n <= len(frame):
        rows = frame.sample(n, random_state=seed)
    else:
        rng = random.Random(seed)
        rows = frame.sample(n, replace=True, random_state=seed).copy()
        rows["text"] = [perturb(t, rng) for t in rows["text"]]
        rows["id"] = [f"resampled-{i}" for i in range(n)]
    rows = rows.drop_duplicates("text")  # an edit can recreate another complaint's text
    counts = rows["opd"].value_counts()
    return rows[rows["opd"].isin(counts[counts >= min_class_count].index)]


def train_once(data: Path, work: Path) -> tuple[float, float]:
    store = f"sqlite:///{work / 'mlflow.db'}"
    # Retraining writes to a store that exists. Creating MLflow's tables in a new one (about 2 s, once per store,
    # whatever the data's size) is not training, so each size's store is made before the clock starts.
    MlflowClient(store).search_experiments()
    env = {
        **os.environ,
        "TRIASE_TRACKING_URI": store,
        "TRIASE_ARTIFACT_ROOT": str(work / "artifacts"),
    }
    command = [str(BIN / "triase"), "train", "--data", str(data), "--no-register", "--drop-duplicates"]
    out = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"training on {data} failed:\n{out.stderr}")
    seconds, peak = out.stdout.split()
    return float(seconds), float(peak)


def growth(real: Path, sizes: list[int]) -> tuple[list[dict], float]:
    """One row per size (complaints used, seconds, peak MiB) and the growth exponent."""
    frame = pd.read_csv(real, usecols=["id", "text", "date", "opd"])
    rows = []
    for n in sizes:
        work = Path(tempfile.mkdtemp(prefix=f"triase-train-{n}-"))
        data = work / "complaints.csv"
        used = sample(frame, n)
        used.to_csv(data, index=False)
        seconds, peak = train_once(data, work)
        rows.append({"size": n, "used": len(used), "seconds": seconds, "peak_mib": peak})
    fitted = [r for r in rows if r["size"] >= 2000] or rows
    exponent = (
        float(np.polyfit(np.log([r["used"] for r in fitted]), np.log([r["seconds"] for r in fitted]), 1)[0])
        if len(fitted) > 1
        else float("nan")
    )
    return rows, exponent
