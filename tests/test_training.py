"""End-to-end training against a real (temporary) MLflow store: logging, registry, gate, CLI."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import joblib
import mlflow
import pandas as pd
import pytest
from typer.testing import CliRunner

from model.paths import CORPUS_PATH
from model.pipeline import build_head
from model.predictor import TriageModel
from model.taxonomy import URGENCY_LEVELS, default_taxonomy
from model.urgency_decision import decide_levels
from tests.conftest import client_for
from training import tracking
from training.cli import app
from training.data import DEFAULT_COLUMNS
from training.metrics import urgency_metrics
from training.train import fit_with_validation, load_params, prepare, split, train
from training.tune import tune

pytestmark = pytest.mark.slow
runner = CliRunner()
SAMPLES = [
    "lampu pju mati di depan sekolah",
    "ada api besar di ruko bengkong, tolong!!",
    "kapan pendaftaran ppdb smp dibuka?",
    "air pdam tdk ngalir udh 3 hari",
]


def test_first_model_is_registered_promoted_and_fully_logged(store):
    settings, result = store
    client = client_for(settings)
    assert result.version == "1" and result.promoted
    assert str(client.get_model_version_by_alias("complaint-triage", "champion").version) == "1"
    run = client.get_run(result.run_id)
    for metric in (
        "opd_accuracy",
        "opd_macro_f1",
        "opd_top3",
        "opd_f1_bina_marga_sda",
        "urgency_macro_f1",
        "urgency_darurat_recall",
        "urgency_qwk",
    ):
        assert metric in run.data.metrics
    assert len(run.data.params["data_fingerprint"]) == 16
    artifacts = {a.path for a in client.list_artifacts(result.run_id)}
    assert {
        "confusion_opd.png",
        "confusion_urgency.png",
        "classification_report_opd.txt",
        "classification_report_urgency.txt",
        "model_card.md",
        "data_profile.json",
        "promotion.json",
    } <= artifacts
    assert run.data.tags["promotion.decision"] == "promoted"
    assert result.model.urgency_decision == load_params()["urgency_decision"]


def test_held_out_quality_is_sane(store):
    _, result = store
    # Far above chance (1/23 and 1/4): a broken pipeline or label shuffle would fail this.
    assert result.metrics["opd"]["accuracy"] > 0.6
    assert result.metrics["urgency"]["macro_f1"] > 0.4


def test_the_head_fitted_with_validation_is_the_plain_head_and_its_validation_is_out_of_fold(corpus):
    sample = corpus.groupby("opd").head(25)
    texts, labels = sample["text"].tolist(), sample["opd"].tolist()
    params = {**load_params()["opd"], "calibration": "sigmoid", "calibration_cv": 2}
    head, validation = fit_with_validation(params, texts, labels, cv=3)
    plain = build_head(**params).fit(texts, labels)
    # liblinear's coordinate descent visits samples in a random order: equal to within its tolerance.
    assert head.predict_proba(texts) == pytest.approx(plain.predict_proba(texts), abs=1e-4)
    # The head has seen every text; the validation probabilities come from classifiers that had not.
    in_sample = head.predict_proba(texts).max(axis=1).mean()
    assert len(validation.confidence) == len(texts)
    assert validation.confidence.mean() < in_sample - 0.05


def test_model_round_trips_through_mlflow(store):
    settings, result = store
    loaded = tracking.load_model(settings.champion_uri, client_for(settings))
    before_opd, before_urg = result.model.predict_proba(SAMPLES)
    after_opd, after_urg = loaded.predict_proba(SAMPLES)
    assert (before_opd == after_opd).all() and (before_urg == after_urg).all()
    assert loaded.version == "1" and loaded.run_id == result.run_id
    # Caches filled by predicting stay with the process, not with a saved copy.
    assert result.model.__dict__.get("_feature_memo")
    assert "_feature_memo" not in vars(pickle.loads(pickle.dumps(result.model)))


def test_models_logged_with_joblib_still_load_and_other_pickles_are_refused(store, tmp_path):
    _, result = store
    joblib.dump(result.model, tmp_path / "triage_model.joblib")
    old = TriageModel.load(tmp_path / "triage_model.joblib", "7")
    assert old.version == "7"
    assert (old.predict_proba(SAMPLES)[0] == result.model.predict_proba(SAMPLES)[0]).all()
    (tmp_path / "other.pkl").write_bytes(pickle.dumps({"not": "a model"}))
    with pytest.raises(ValueError, match=r"other\.pkl holds a dict"):
        TriageModel.load(tmp_path / "other.pkl")


def test_pyfunc_flavour_predicts_a_frame(store):
    settings, _ = store
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)  # other tests may have pointed the registry elsewhere
    out = mlflow.pyfunc.load_model(settings.champion_uri).predict(pd.DataFrame({"text": SAMPLES}))
    assert len(out) == len(SAMPLES)
    assert out.loc[1, "opd"] == "pemadam-kebakaran" and out.loc[1, "urgency"] == "darurat"
    assert set(out["urgency"]) <= set(URGENCY_LEVELS)


def test_promotion_gate_refuses_a_worse_model_unless_forced(store):
    settings, first = store
    weak = copy.deepcopy(load_params())
    weak["opd"].update(C=0.0001, char_ngrams=False, class_weight=None)
    refused = train(settings, params=weak)
    client = client_for(settings)
    assert refused.metrics["opd"]["macro_f1"] < first.metrics["opd"]["macro_f1"] - 0.01
    assert refused.version == "2" and not refused.promoted
    assert str(client.get_model_version_by_alias("complaint-triage", "champion").version) == "1"
    assert client.get_run(refused.run_id).data.tags["promotion.decision"] == "refused"
    assert "worse than champion: opd.macro_f1" in refused.decision

    forced = train(settings, params=weak, force=True)
    assert forced.promoted and forced.decision.startswith("forced")
    assert str(client.get_model_version_by_alias("complaint-triage", "champion").version) == forced.version
    client.set_registered_model_alias("complaint-triage", "champion", "1")  # leave the store as found


def test_the_gate_scores_both_models_only_on_complaints_the_champion_did_not_train_on(store, corpus, tmp_path):
    settings, _ = store
    # Two thirds of the corpus: its own random held-out split now holds complaints the champion learned (it
    # trained on the whole corpus's training split), on which the champion would look better than it is.
    part = corpus[corpus.groupby("opd").cumcount() < corpus["opd"].map(corpus["opd"].value_counts()) * 2 // 3]
    path = tmp_path / "part.csv"
    part.to_csv(path, index=False)
    result = train(settings, data=path)

    params = load_params()
    split_args = {"test_size": params["split"]["test_size"], "seed": params["split"]["seed"]}
    prepared = {p: prepare(p, DEFAULT_COLUMNS, default_taxonomy(), min_class_count=10) for p in (CORPUS_PATH, path)}
    _, champion_held_out = split(prepared[CORPUS_PATH], **split_args)
    _, held_out = split(prepared[path], **split_args)
    unseen = held_out["text"].isin(champion_held_out["text"])  # the part's texts the champion did not train on
    assert 50 <= unseen.sum() < len(held_out) * 0.5

    client = client_for(settings)
    promotion = json.loads(Path(client.download_artifacts(result.run_id, "promotion.json", str(tmp_path))).read_text())
    assert promotion["compared_on"] == {"opd": unseen.sum(), "urgency": unseen.sum(), "held_out": len(held_out)}
    assert f"on {unseen.sum()} of {len(held_out)} held-out complaints the champion did not train on" in result.decision
    client.set_registered_model_alias("complaint-triage", "champion", "1")  # leave the store as found


def test_decision_rules():
    gate = {"tolerance": 0.01, "metrics": ["opd.macro_f1", "urgency.macro_f1"]}
    assert tracking.decide_promotion({"opd.macro_f1": 0.5}, None, **gate).promote
    assert tracking.decide_promotion({"opd.macro_f1": 0.795}, {"opd.macro_f1": 0.80}, **gate).promote
    refused = tracking.decide_promotion(
        {"opd.macro_f1": 0.80, "urgency.macro_f1": 0.6}, {"opd.macro_f1": 0.80, "urgency.macro_f1": 0.7}, **gate
    )
    assert not refused.promote and "urgency.macro_f1" in refused.reason


def test_cli_predict_prints_opd_alternatives_and_urgency(store):
    result = runner.invoke(app, ["predict", "--json", *SAMPLES[:2]])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [p["opd"]["code"] for p in lines] == ["perhubungan", "pemadam-kebakaran"]
    assert all(len(p["alternatives"]) == 2 and p["model_version"] == "1" for p in lines)
    assert all(0 < p["urgency_probability"] <= 1 and p["opd"]["name"] for p in lines)


def test_cli_evaluate_json(store, tmp_path, corpus):
    sample = corpus.groupby("opd").head(5)
    sample.to_csv(tmp_path / "with_urgency.csv", index=False)
    sample.drop(columns="urgency").to_csv(tmp_path / "without.csv", index=False)

    result = runner.invoke(app, ["evaluate", "--data", str(tmp_path / "with_urgency.csv"), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["n"] == len(sample) and out["version"] == "1"
    assert {"accuracy", "macro_f1", "top3"} <= set(out["opd"])
    assert {"macro_f1", "darurat_recall", "qwk"} <= set(out["urgency"])

    result = runner.invoke(app, ["evaluate", "--data", str(tmp_path / "without.csv"), "--json"])
    assert result.exit_code == 0, result.output
    assert "urgency" not in json.loads(result.stdout)


def test_invalid_data_is_rejected_before_anything_is_logged(settings, tmp_path, corpus):
    bad = corpus.copy()
    bad.loc[3, "text"] = "   "
    bad.loc[10, "opd"] = "dinas-jalan"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "bad.csv")])
    assert result.exit_code == 1
    assert "row 5 text: text is empty" in result.output
    assert "row 12 opd: opd label 'dinas-jalan' is not in the taxonomy" in result.output
    client = client_for(settings)
    assert client.search_registered_models() == []
    experiment = client.get_experiment_by_name(settings.experiment)
    assert experiment is None or client.search_runs([experiment.experiment_id]) == []


def test_an_unknown_urgency_decision_is_refused_before_anything_is_fitted_or_logged(settings):
    steps = []
    with pytest.raises(ValueError, match="urgency_decision must be one of"):
        train(settings, params={**load_params(), "urgency_decision": "median"}, progress=steps.append)
    assert steps == []  # refused before validating the data, let alone fitting
    client = client_for(settings)
    assert client.search_registered_models() == []
    experiment = client.get_experiment_by_name(settings.experiment)
    assert experiment is None or client.search_runs([experiment.experiment_id]) == []


def test_dataset_without_urgency_trains_urgency_on_the_bundled_corpus(settings, tmp_path, corpus):
    routed = corpus[["text", "opd", "created_at"]]
    routed.to_parquet(tmp_path / "routed.parquet", index=False)
    result = runner.invoke(
        app, ["train", "--data", str(tmp_path / "routed.parquet"), "--date-col", "created_at", "--no-register"]
    )
    assert result.exit_code == 0, result.output
    run = client_for(settings).search_runs(
        [client_for(settings).get_experiment_by_name(settings.experiment).experiment_id]
    )[0]
    assert run.data.params["split"] == "date"
    assert run.data.params["urgency_source"].endswith("complaints.csv")
    assert "urgency_qwk" in run.data.metrics


def test_tune_logs_nested_trials_and_writes_the_best_config(settings, tmp_path, corpus):
    sample = corpus.groupby("opd").head(30)
    sample.to_csv(tmp_path / "sample.csv", index=False)
    output = tmp_path / "params.yaml"
    result = runner.invoke(
        app, ["tune", "--data", str(tmp_path / "sample.csv"), "--trials", "2", "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    client = client_for(settings)
    runs = client.search_runs([client.get_experiment_by_name(settings.experiment).experiment_id])
    parent = next(r for r in runs if r.info.run_name == "tune-opd")
    trials = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(trials) == 2 and all("macro_f1" in r.data.metrics for r in trials)
    best = max(trials, key=lambda r: r.data.metrics["macro_f1"])
    written = load_params(output)
    assert written["opd"]["C"] == float(best.data.params["C"])
    assert written["urgency"] == load_params()["urgency"]  # the other head is left alone


def test_tuning_the_urgency_head_scores_it_by_the_configured_decision(settings, tmp_path, corpus):
    sample = corpus.groupby("urgency").head(60).reset_index(drop=True)
    params = {**load_params(), "urgency_decision": "least_squared_error"}
    best = tune(settings, sample, params, head="urgency", trials=1, output=tmp_path / "params.yaml")

    split_args = {"test_size": params["split"]["test_size"], "seed": params["split"]["seed"]}
    fit_part, validation = split(split(sample, **split_args)[0], **split_args)
    head = build_head(**best).fit(fit_part["text"].tolist(), fit_part["urgency"].tolist())
    proba = head.predict_proba(validation["text"].tolist())
    scores = {
        decision: urgency_metrics(
            validation["urgency"].tolist(), list(head.classes_[decide_levels(proba, head.classes_, decision)])
        )["macro_f1"]
        for decision in ("most_probable", "least_squared_error")
    }
    assert scores["most_probable"] != scores["least_squared_error"]  # else this test could not tell them apart
    client = client_for(settings)
    runs = client.search_runs([client.get_experiment_by_name(settings.experiment).experiment_id])
    trial = next(r for r in runs if r.info.run_name == "trial-1")
    assert trial.data.metrics["macro_f1"] == pytest.approx(scores["least_squared_error"])
