"""`triase` command line: train, evaluate and predict with the same code MLproject runs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from model.paths import CORPUS_PATH
from model.taxonomy import default_taxonomy

app = typer.Typer(
    help="Triase: route Indonesian citizen complaints to the right OPD and rate their urgency.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)

DataOpt = Annotated[Path, typer.Option("--data", help="Dataset: .csv, .jsonl, .parquet or .xlsx.")]
TextCol = Annotated[str, typer.Option("--text-col", help="Column holding the complaint text.")]
OpdCol = Annotated[str, typer.Option("--opd-col", help="Column holding the OPD code.")]
UrgencyCol = Annotated[
    str,
    typer.Option(
        "--urgency-col",
        help="Column holding the urgency label; if the file has no such column the urgency head is trained elsewhere.",
    ),
]
DateCol = Annotated[
    str | None,
    typer.Option(
        "--date-col", help="Date column: hold out the latest complaints instead of a random stratified sample."
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", help="MLflow model URI or local path [default: models:/complaint-triage@champion]."),
]


def _step(message: str) -> None:
    err.print(f"[cyan]•[/cyan] {message}")


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code=1)


@app.command()
def train(
    data: DataOpt = CORPUS_PATH,
    text_col: TextCol = "text",
    opd_col: OpdCol = "opd",
    urgency_col: UrgencyCol = "urgency",
    date_col: DateCol = None,
    urgency_data: Annotated[
        Path | None,
        typer.Option(help="Dataset for the urgency head when --data has no urgency column [default: bundled corpus]."),
    ] = None,
    params: Annotated[
        Path | None, typer.Option(help="Training configuration YAML [default: training/params.yaml].")
    ] = None,
    drop_duplicates: Annotated[
        bool, typer.Option(help="Keep the first of exact duplicates instead of rejecting the data.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Promote to champion even if worse than the current one.")] = False,
    register: Annotated[bool, typer.Option(help="Register the model as a new version.")] = True,
    if_missing: Annotated[
        bool, typer.Option(help="Do nothing when a champion is already registered (used by `make run`).")
    ] = False,
    feedback: Annotated[
        bool,
        typer.Option(
            help="Add the complaints staff reviewed in the service database; corrections win over --data labels."
        ),
    ] = False,
) -> None:
    """Validate a dataset, train both heads, evaluate on a held-out split, log to MLflow and register."""
    from training import tracking
    from training.data import Columns, DataError
    from training.settings import get_settings
    from training.train import load_params
    from training.train import train as run_training
    from training.validation import ValidationFailed

    settings = get_settings()
    if if_missing:
        current = tracking.champion(tracking.configure(settings), settings)
        if current is not None:
            _step(f"{settings.champion_uri} is version {current.version}; nothing to train")
            return
    reviewed = None
    if feedback:
        from serving.db import Database
        from serving.review import feedback_frame

        db = Database(settings.database_url)
        db.migrate()
        reviewed = feedback_frame(db)
        db.dispose()
        _step(f"{len(reviewed)} reviewed complaints from the review database")
    try:
        result = run_training(
            settings,
            data,
            Columns(text=text_col, opd=opd_col, urgency=urgency_col, date=date_col or None),
            urgency_data=urgency_data,
            params=load_params(params) if params else None,
            register=register,
            force=force,
            drop_duplicates=drop_duplicates,
            feedback=reviewed,
            progress=_step,
        )
    except (DataError, ValidationFailed) as exc:
        raise _fail(str(exc)) from None
    m = result.metrics
    _step(f"run {result.run_id}, version {result.version}")
    _step(f"{'promoted to champion' if result.promoted else 'NOT promoted'} ({result.decision})")
    opd = m["opd"]
    err.print(f"  OPD      accuracy {opd['accuracy']:.3f}  macro-F1 {opd['macro_f1']:.3f}  top-3 {opd['top3']:.3f}")
    if "urgency" in m:
        u = m["urgency"]
        err.print(
            f"  urgency  macro-F1 {u['macro_f1']:.3f}  darurat recall {u['darurat_recall']:.3f}  QWK {u['qwk']:.3f}"
        )


@app.command()
def evaluate(
    data: DataOpt = CORPUS_PATH,
    text_col: TextCol = "text",
    opd_col: OpdCol = "opd",
    urgency_col: UrgencyCol = "urgency",
    model: ModelOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
) -> None:
    """Evaluate the champion (or --model) on a labelled dataset."""
    from training import tracking
    from training.data import Columns, DataError, load_dataset
    from training.metrics import evaluate as run_evaluation
    from training.settings import get_settings
    from training.validation import ValidationFailed, validate

    settings = get_settings()
    client = tracking.configure(settings)
    try:
        frame = load_dataset(data, Columns(text=text_col, opd=opd_col, urgency=urgency_col))
        problems = validate(frame, default_taxonomy(), check_duplicates=False)
        if problems:
            raise ValidationFailed(problems, source=str(data))
    except (DataError, ValidationFailed) as exc:
        raise _fail(str(exc)) from None
    uri = model or settings.champion_uri
    _step(f"Loading {uri}")
    triage = _load(uri, client)
    _step(f"Evaluating on {len(frame)} complaints")
    urgency = frame["urgency"].tolist() if "urgency" in frame.columns else None
    result = run_evaluation(triage, frame["text"].str.strip().tolist(), frame["opd"].tolist(), urgency)
    out = {"model": uri, "version": triage.version, **result.metrics}
    if os.environ.get("MLFLOW_RUN_ID"):  # launched by `mlflow run . -e evaluate`: keep the figures on that run
        import mlflow

        with mlflow.start_run():
            mlflow.log_params({"data_path": str(data), "model_uri": uri, "model_version": triage.version})
            mlflow.log_metrics({k.replace("-", "_"): v for k, v in result.flat().items()})
    if as_json:
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        return
    table = Table("metric", "value")
    for key, value in result.flat().items():
        table.add_row(key, f"{value:.4f}" if key != "n" else str(int(value)))
    Console().print(table)


@app.command()
def tune(
    data: DataOpt = CORPUS_PATH,
    text_col: TextCol = "text",
    opd_col: OpdCol = "opd",
    urgency_col: UrgencyCol = "urgency",
    date_col: DateCol = None,
    head: Annotated[str, typer.Option(help="Which head to tune: opd or urgency.")] = "opd",
    trials: Annotated[int, typer.Option(min=1, help="Number of configurations to try.")] = 12,
    output: Annotated[
        Path | None,
        typer.Option(help="Configuration file to write the best parameters into [default: training/params.yaml]."),
    ] = None,
) -> None:
    """Search hyperparameters (nested MLflow runs, training part only) and save the best as the default."""
    from training.data import Columns, DataError
    from training.settings import get_settings
    from training.train import PARAMS_PATH, load_params, prepare
    from training.tune import tune as run_tune
    from training.validation import ValidationFailed

    if head not in {"opd", "urgency"}:
        raise _fail("--head must be 'opd' or 'urgency'")
    params = load_params()
    try:
        frame = prepare(
            data,
            Columns(text=text_col, opd=opd_col, urgency=urgency_col, date=date_col or None),
            default_taxonomy(),
            min_class_count=params["validation"]["min_class_count"],
        )
    except (DataError, ValidationFailed) as exc:
        raise _fail(str(exc)) from None
    if head not in frame.columns:
        raise _fail(f"{data} has no {head} labels to tune on")
    best = run_tune(
        get_settings(), frame, params, head=head, trials=trials, output=output or PARAMS_PATH, progress=_step
    )
    _step(f"wrote {head} = {best} to {output or PARAMS_PATH}")


@app.command()
def predict(
    text: Annotated[list[str] | None, typer.Argument(help="Complaint text(s) to classify.")] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="Read texts from a file: one per line (.txt) or a table (.csv/.jsonl/.parquet/.xlsx)."
        ),
    ] = None,
    text_col: TextCol = "text",
    model: ModelOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
) -> None:
    """Print the suggested OPD (with two alternatives) and urgency for each text."""
    from model.memory import settle_memory
    from training import tracking
    from training.data import DataError, read_table
    from training.settings import get_settings

    texts = list(text or [])
    if file is not None:
        try:
            if file.suffix.lower() in {".txt", ""}:
                texts += [line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
            else:
                texts += read_table(file)[text_col].astype(str).tolist()
        except (DataError, OSError, KeyError) as exc:
            raise _fail(f"{file}: cannot read texts ({exc})") from None
    if not texts:
        raise _fail("give a text argument or --file")
    settings = get_settings()
    client = tracking.configure(settings)
    triage = _load(model or settings.champion_uri, client)
    settle_memory()  # a file of texts is one long batch
    predictions = triage.predict(texts)
    if as_json:
        for p in predictions:
            sys.stdout.write(json.dumps(p.to_dict(), ensure_ascii=False) + "\n")
        return
    table = Table("#", "OPD", "alternatives", "urgency", "review", title=f"{triage.name} v{triage.version or '?'}")
    for i, p in enumerate(predictions, 1):
        table.add_row(
            str(i),
            f"{p.opd.code} {p.opd.probability:.2f}",
            "\n".join(f"{a.code} {a.probability:.2f}" for a in p.alternatives),
            f"{p.urgency} {p.urgency_probability:.2f}" + "".join(f"\nrule: {f['rule']}" for f in p.urgency_rules),
            "\n".join(p.review_reasons) or "auto-route",
        )
    Console().print(table)


def _load(uri: str, client):
    from mlflow.exceptions import MlflowException

    from training import tracking

    try:
        return tracking.load_model(uri, client)
    except (MlflowException, OSError) as exc:
        raise _fail(f"cannot load model {uri!r}: {exc}. Train one first: `triase train`.") from None


def _attach_serving() -> None:
    from serving.cli import apikey_app, feedback_app, serve, user_app

    app.command()(serve)
    app.add_typer(apikey_app, name="apikey")
    app.add_typer(user_app, name="user")
    app.add_typer(feedback_app, name="feedback")


_attach_serving()

if __name__ == "__main__":
    app()
