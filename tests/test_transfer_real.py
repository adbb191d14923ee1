"""Transfer to real complaints: the default model, trained only on the bundled Batam corpus,
routing real (Surabaya 2022) complaints. Skipped, with the reason, where the shared data is absent."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from training.cli import app
from training.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.realdata]
REAL = Settings().shared_datasets / "surabaya-2022.csv"


@pytest.mark.skipif(not REAL.is_file(), reason=f"real complaints not found at {REAL} (set TRIASE_SHARED_DATASETS)")
def test_default_model_transfers_to_real_complaints(store):
    result = CliRunner().invoke(app, ["evaluate", "--data", str(REAL), "--json"])
    assert result.exit_code == 0, result.output
    opd = json.loads(result.stdout)["opd"]
    print(f"transfer: top-1 {opd['accuracy']:.3f}, top-3 {opd['top3']:.3f}, macro-F1 {opd['macro_f1']:.3f}")
    # Floors a few points under the measured 0.717 / 0.863 (stop 23), so a corpus change that loses transfer fails.
    assert opd["accuracy"] >= 0.68 and opd["top3"] >= 0.83
