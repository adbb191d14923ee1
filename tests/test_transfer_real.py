"""Transfer to real complaints: the default model, trained only on the bundled Batam corpus,
routing real (Surabaya 2022) complaints. Skipped, with the reason, where the shared data is absent."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.conftest import REAL_COMPLAINTS, needs_real_complaints
from training.cli import app

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


@needs_real_complaints
def test_default_model_transfers_to_real_complaints(store):
    result = CliRunner().invoke(app, ["evaluate", "--data", str(REAL_COMPLAINTS), "--json"])
    assert result.exit_code == 0, result.output
    opd = json.loads(result.stdout)["opd"]
    print(f"transfer: top-1 {opd['accuracy']:.3f}, top-3 {opd['top3']:.3f}, macro-F1 {opd['macro_f1']:.3f}")
    # Floors a few points under the measured 0.717 / 0.863 (stop 23), so a corpus change that loses transfer fails.
    assert opd["accuracy"] >= 0.68 and opd["top3"] >= 0.83
