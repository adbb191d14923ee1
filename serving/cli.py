"""`triase serve` and `triase apikey …` (attached to the `triase` command in training/cli.py)."""

from __future__ import annotations

import gc
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

err = Console(stderr=True)
apikey_app = typer.Typer(help="Create, list and revoke API keys (stored only as hashes).", no_args_is_help=True)


def _db():
    """The service database, migrated to the newest schema."""
    from serving.db import Database
    from training.settings import get_settings

    db = Database(get_settings().database_url)
    db.migrate()
    return db


def _keys():
    from serving.apikeys import ApiKeys

    return ApiKeys(_db())


@apikey_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Who or what uses the key, e.g. lapor-intake.")],
    role: Annotated[str, typer.Option(help="intake (predict, read model info) or admin (also reload).")] = "intake",
) -> None:
    """Create a key and print it once; only its hash is kept."""
    from serving.apikeys import ApiKeyError

    try:
        key, info = _keys().create(name, role)
    except ApiKeyError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    err.print(f"created key {info.name!r} (role {info.role}, prefix {info.prefix})); it is shown only now")
    typer.echo(key)


@apikey_app.command("list")
def list_keys() -> None:
    """Show every key's name, role, prefix and state (never the key itself)."""
    table = Table("name", "role", "prefix", "created", "state")
    for k in _keys().list():
        state = "active" if k.active else f"revoked {k.revoked_at:%Y-%m-%d %H:%M}"
        table.add_row(k.name, k.role, k.prefix, f"{k.created_at:%Y-%m-%d %H:%M}", state)
    Console().print(table)


@apikey_app.command("revoke")
def revoke(name_or_prefix: Annotated[str, typer.Argument(help="The key's name or prefix.")]) -> None:
    """Revoke a key: requests with it are refused from now on."""
    from serving.apikeys import ApiKeyError

    try:
        info = _keys().revoke(name_or_prefix)
    except ApiKeyError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    err.print(f"revoked key {info.name!r} (prefix {info.prefix})")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes; each loads the model once.")] = 1,
) -> None:
    """Serve the prediction API (and its OpenAPI docs at /docs)."""
    from serving.fetch import ModelFetch
    from training.settings import get_settings

    settings = get_settings()
    # Started before the heavy imports below, so that it fetches the model while they run (serving/fetch.py).
    # Several workers each load their own model; they start from uvicorn's import of the app factory instead.
    fetch = ModelFetch(settings.tracking_uri, settings.serving_uri) if workers == 1 else None

    import uvicorn

    from serving.logs import log_config
    from serving.main import bootstrap_keys, create_app  # before anything imports pandas: see serving/main.py

    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Workers write their metrics to files here so that /metrics on any worker adds up all of them.
        # Set before the workers start: prometheus_client reads it when it is first imported.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="triase-metrics-")
    base_url = f"http://{host}:{port}"
    # Keys are set up here, once, before any worker starts, so the first admin key is printed exactly once.
    if not bootstrap_keys(_keys(), base_url):
        err.print(
            f"API at {base_url} (docs {base_url}/docs). Use your API key, or make one: "
            "[bold]triase apikey create NAME --role intake[/bold]",
            highlight=False,
        )
    if workers > 1:
        gc.enable()  # this process only supervises the workers: it never loads a model (see serving/main.py)
    try:
        uvicorn.run(
            create_app(settings, fetch) if fetch else "serving.main:create_app",
            factory=fetch is None,
            host=host,
            port=port,
            workers=workers,
            log_config=log_config(settings.log_level),
            access_log=False,
            timeout_graceful_shutdown=10,
        )
    finally:
        if fetch:
            fetch.close()  # normally done at the first load; not if the service stopped before it


user_app = typer.Typer(help="Staff accounts for the review pages.", no_args_is_help=True)
feedback_app = typer.Typer(help="Reviewed complaints as training data.", no_args_is_help=True)


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="reviewer (decide) or admin (also re-open decisions).")] = "reviewer",
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="At least 8 characters.")
    ] = "",
) -> None:
    """Create a staff account (the password is asked for, and stored only as an Argon2 hash)."""
    from serving.users import UserError, Users

    try:
        user = Users(_db()).create(username, password, role)
    except UserError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    err.print(f"created {user.role} {user.username!r}")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Disable an account: its sessions end at their next request."""
    from serving.users import UserError, Users

    try:
        Users(_db()).disable(username)
    except UserError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    err.print(f"disabled {username!r}")


@feedback_app.command("export")
def feedback_export(
    output: Annotated[Path, typer.Option(help="CSV file to write (training format).")] = Path("feedback.csv"),
    since: Annotated[str | None, typer.Option(help="Only decisions made on or after this date (YYYY-MM-DD).")] = None,
) -> None:
    """Write reviewed complaints (final OPD and urgency, identifiers masked) as a training CSV."""
    from datetime import date

    from serving.review import feedback_frame

    try:
        start = date.fromisoformat(since) if since else None
    except ValueError:
        err.print(f"[red]error:[/red] --since must be a date like 2026-11-01, not {since!r}", highlight=False)
        raise typer.Exit(1) from None
    frame = feedback_frame(_db(), start)
    frame.to_csv(output, index=False)
    err.print(f"wrote {len(frame)} reviewed complaints to {output}")
