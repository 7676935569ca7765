"""The `sokosumi-projects` command: serve the API, manage keys, replay the log."""

from __future__ import annotations

import json
import logging
import sys
import time

import click

from infrastructure.settings import ConfigurationError, Settings

logger = logging.getLogger(__name__)


def _settings() -> Settings:
    try:
        settings = Settings.from_environ()
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return settings


@click.group()
def main() -> None:
    """The Projects service of Sokosumi."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256))
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the API until stopped (SIGTERM finishes requests in flight)."""
    from infrastructure.server import Server
    from infrastructure.wiring import build_services

    settings = _settings()
    services = build_services(settings)
    services.close()
    Server(settings, host=host, port=port, workers=workers, threads=threads).run()


@main.group()
def keys() -> None:
    """Create and revoke API keys."""


@keys.command("create")
@click.option("--user", "email", required=True, help="Email of the key's user.")
@click.option("--workspace", required=True, help="Name of the key's workspace.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def create_key(email: str, workspace: str, as_json: bool) -> None:
    """Create a key, and the user and workspace when they are new."""
    from infrastructure.identity import IdentityError
    from infrastructure.wiring import build_services

    services = build_services(_settings())
    try:
        issued = services.create_key(email, workspace)
    except IdentityError as error:
        raise click.ClickException(str(error)) from None
    finally:
        services.close()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "apiKey": issued.api_key,
                    "keyId": issued.key_id,
                    "userId": issued.user_id,
                    "workspaceId": issued.workspace_id,
                }
            )
        )
        return
    click.echo(f"API key:   {issued.api_key}")
    click.echo(f"Key id:    {issued.key_id}")
    click.echo(f"User:      {issued.user_id} ({email.strip().lower()})")
    click.echo(f"Workspace: {issued.workspace_id} ({workspace.strip()})")
    click.echo("The key is shown only now; the service keeps only its hash.")


@keys.command("revoke")
@click.argument("key_id")
def revoke_key(key_id: str) -> None:
    """Revoke a key: requests with it fail with 401 from now on."""
    from infrastructure.wiring import build_services

    services = build_services(_settings())
    try:
        revoked = services.identity.revoke_key(key_id)
    finally:
        services.close()
    if not revoked:
        raise click.ClickException(f"no live key with id {key_id}")
    click.echo(f"Revoked {key_id}.")


@main.command()
def replay() -> None:
    """Rebuild every read model from the event log."""
    from rich.console import Console
    from rich.progress import Progress

    from infrastructure.replay import replay as rebuild
    from infrastructure.wiring import build_services

    services = build_services(_settings())
    try:
        console = Console(stderr=True)
        with Progress(console=console, disable=not console.is_terminal) as progress:
            task = progress.add_task("Replaying events", total=None)
            report = rebuild(
                services,
                on_start=lambda total: progress.update(task, total=total),
                on_progress=lambda done: progress.advance(task, done),
            )
    finally:
        services.close()
    click.echo(
        f"Replayed {report.events} events in {report.seconds:.2f} s "
        f"({report.events_per_second:,.0f} events/s)."
    )


@main.group()
def events() -> None:
    """Read the event log."""


@events.command("export")
@click.option("--workspace", "workspace_id", help="Only this workspace (ws_...).")
@click.option(
    "--after", default=0, type=click.IntRange(0), help="Start after this position."
)
@click.option("--until", type=click.IntRange(0), help="Stop at this position.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    default="-",
    show_default=True,
    help="File to write, or - for standard output.",
)
def export_events(
    workspace_id: str | None, after: int, until: int | None, output: str
) -> None:
    """Write the event log as JSON Lines, one event per line, in commit order."""
    from rich.console import Console
    from rich.progress import Progress

    from infrastructure.export import event_line
    from infrastructure.wiring import build_services

    services = build_services(_settings())
    console = Console(stderr=True)
    written = 0
    started = time.perf_counter()
    try:
        last = services.recorder.max_notification_id() or 0
        total = max(0, min(until or last, last) - after)
        with (
            click.open_file(output, "w") as sink,
            Progress(console=console, disable=not console.is_terminal) as progress,
        ):
            task = progress.add_task("Exporting events", total=total or None)
            for event in services.application.export_events(
                workspace_id=workspace_id, after=after, until=until
            ):
                sink.write(event_line(event))
                written += 1
                progress.update(task, completed=event.position - after)
    finally:
        services.close()
    seconds = time.perf_counter() - started
    click.echo(f"Exported {written} events in {seconds:.2f} s.", err=True)
