"""``event-importer local`` and ``event-importer demo``."""

from __future__ import annotations

import importlib.util
import json
import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from infra.local import SAMPLE_EVENTS

if TYPE_CHECKING:
    from infra.local.demo import DemoSummary

console = Console()


def configure_logging(verbose: bool) -> None:
    """Structured (Powertools) logs for the runtime; quiet unless ``verbose``."""
    level = logging.DEBUG if verbose else logging.WARNING
    logger = Logger(service="event-importer-local", level=logging.getLevelName(level))
    copy_config_to_registered_loggers(source_logger=logger, include={"infra", "integrations"}, log_level=level)
    for noisy in ("werkzeug", "botocore", "pynamodb", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.ERROR)


def _parse_overrides(pairs: list[str]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator:
            raise typer.BadParameter(f"expected NAME=VALUE, got {pair!r}")
        overrides[name] = value
    return overrides


def local_command(
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="Use this running moto server instead of starting one.")
    ] = None,
    parameter: Annotated[
        list[str] | None, typer.Option("--parameter", "-p", help="Template parameter override NAME=VALUE.")
    ] = None,
    destination: Annotated[
        bool,
        typer.Option(help="Start a loopback stand-in for TicketFairy and point the integration at it."),
    ] = True,
    secret: Annotated[
        list[str] | None,
        typer.Option(
            "--secure-parameter",
            "-s",
            help="NAME=VALUE: store VALUE (e.g. an API key) as the SSM SecureString the template parameter NAME names.",
        ),
    ] = None,
    with_caldav: Annotated[
        bool,
        typer.Option(
            "--with-caldav", help="Start a CalDAV server (Radicale) on loopback and deliver to its calendar too."
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the runtime's and moto's logs.")] = False,
    api: Annotated[bool, typer.Option(help="Serve the operators' HTTP API (the API function) on loopback.")] = True,
    api_port: Annotated[int, typer.Option("--api-port", help="Port of the HTTP API; 0 picks a free one.")] = 0,
) -> None:
    """Run the pipeline locally until Ctrl-C or SIGTERM: moto on loopback, the template's functions and sources."""
    # Imported here: the runtime needs moto, which the CLI's other commands do not.
    from infra.local.caldav import PASSWORD_PARAMETER, RadicaleServer
    from infra.local.demo import API_KEY_PARAMETER, DEMO_API_KEY, DEMO_CALDAV_PASSWORD, DEMO_CALDAV_USER
    from infra.local.destination import DraftEventsDestination
    from infra.local.runtime import LocalRuntime, RuntimeOptions

    configure_logging(verbose)
    overrides = _parse_overrides(parameter or [])
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stand_in = DraftEventsDestination(api_key=DEMO_API_KEY) if destination else None
    calendar = RadicaleServer(username=DEMO_CALDAV_USER, password=DEMO_CALDAV_PASSWORD) if with_caldav else None
    try:
        if stand_in is not None:
            overrides.setdefault("TicketfairyBaseUrl", stand_in.start())
        if calendar is not None:
            calendar.start()
            for name, value in calendar.template_parameters().items():
                overrides.setdefault(name, value)
        runtime = LocalRuntime(
            RuntimeOptions(
                endpoint_url=endpoint_url,
                parameter_overrides=overrides,
                verbose=verbose,
                serve_api=api,
                api_port=api_port,
            )
        )
        runtime.start()
        try:
            secrets = _parse_overrides(secret or [])
            if stand_in is not None:
                secrets.setdefault(API_KEY_PARAMETER, DEMO_API_KEY)
            if calendar is not None:
                secrets.setdefault(PASSWORD_PARAMETER, DEMO_CALDAV_PASSWORD)
            for name, value in secrets.items():
                runtime.put_secure_parameter(name, value)
            env = runtime.environment("FanoutFunction")
            console.print(f"[green]local runtime up[/] at {runtime.endpoint_url}")
            console.print(f"  event cache table  {env['EVENT_CACHE_TABLE']}")
            console.print(f"  submissions table  {env['SUBMISSIONS_TABLE']}")
            if stand_in is not None:
                console.print(f"  TicketFairy stand-in  {stand_in.base_url}")
            if calendar is not None:
                console.print(f"  CalDAV calendar (Radicale)  {calendar.calendar_url}  ({DEMO_CALDAV_USER})")
            if api:
                console.print(f"  HTTP API  {runtime.api_url}  (Swagger UI: {runtime.api_url}/swagger)")
            console.print(f"try: event-importer import FILE --endpoint-url {runtime.endpoint_url}")
            console.print("Ctrl-C to stop")
            # Wake up regularly: a wait with no timeout may not return promptly after a signal.
            while not stop.wait(0.5):
                pass
        finally:
            runtime.stop()
    finally:
        if stand_in is not None:
            stand_in.stop()
        if calendar is not None:
            calendar.stop()
    console.print("stopped")


def demo_command(
    sample_file: Annotated[Path, typer.Option("--events", help="Events to import (JSON lines).")] = SAMPLE_EVENTS,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
    with_caldav: Annotated[
        bool | None,
        typer.Option(
            "--with-caldav/--without-caldav",
            help="Also deliver to a CalDAV calendar on loopback (Radicale); by default when Radicale is installed.",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the runtime's and moto's logs.")] = False,
) -> None:
    """Import the sample events, run them through the whole pipeline locally, and summarise."""
    from infra.local.demo import run_demo

    configure_logging(verbose)
    if with_caldav is None:
        with_caldav = importlib.util.find_spec("radicale") is not None
    if as_json:
        summary = run_demo(sample_file, verbose=verbose, with_caldav=with_caldav)
        typer.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        with Progress(
            TextColumn("[bold]delivering"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as bar:
            task = bar.add_task("delivering", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = run_demo(sample_file, verbose=verbose, progress=progress, with_caldav=with_caldav)
        print_summary(summary)
    if not summary.ok:
        raise typer.Exit(1)


def print_summary(summary: DemoSummary) -> None:
    """The demo's summary as tables."""
    for service, counts in summary.records_by_status.items():
        table = Table("status", "records", title=f"{service}: submission records")
        for status, count in counts.items():
            table.add_row(status, str(count))
        console.print(table)
    if summary.invalid:
        invalid = Table("item", "why it was not imported", title="invalid events")
        for item in summary.invalid:
            invalid.add_row(item["item"], "; ".join(item["errors"]))
        console.print(invalid)
    latency = summary.latency_ms
    if latency:
        console.print(
            f"import-to-submission latency: p50 {latency['p50']:.0f} ms, p95 {latency['p95']:.0f} ms "
            f"(max {latency['max']:.0f} ms)"
        )
    console.print(
        f"{summary.valid_events} valid events of {summary.events_in_file}; destination accepted "
        f"{summary.destination_creates} drafts in {summary.seconds:.1f} s; queues drained: {summary.drained}"
    )
    if summary.calendar_events is not None:
        console.print(f"the CalDAV calendar shows {summary.calendar_events} events (read back through CalDAV)")
    console.print("[green]ok[/]" if summary.ok else "[red]not every valid event was submitted[/]")
