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
from typer._click.exceptions import UsageError

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


#: The template parameters that point each integration at its destination: with no stand-in, each must
#: be given, so that a local runtime never delivers to a production URL by default.
DESTINATION_PARAMETERS = ("TicketfairyBaseUrl",)


def local_command(
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="Use this running moto server instead of starting one.")
    ] = None,
    parameter: Annotated[
        list[str] | None, typer.Option("--parameter", "-p", help="Template parameter override NAME=VALUE.")
    ] = None,
    destination: Annotated[
        bool,
        typer.Option(
            help="Start a loopback stand-in for TicketFairy and point the integration at it "
            "(--no-destination needs -p TicketfairyBaseUrl=URL)."
        ),
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
    fast: Annotated[
        bool,
        typer.Option(
            "--fast", help="Short batching windows, retries and visibility timeouts, 3 attempts: for a walkthrough."
        ),
    ] = False,
) -> None:
    """Run the pipeline locally until Ctrl-C or SIGTERM: moto on loopback, the template's functions and sources.

    While it runs, its addresses are in a state file (see ``infra/local/state.py``), so every other
    command talks to it with no options and no AWS set-up.
    """
    overrides = _parse_overrides(parameter or [])
    missing = [name for name in DESTINATION_PARAMETERS if name not in overrides]
    if not destination and missing:
        # Without the stand-in, the template's default would be the production URL.
        raise UsageError(f"--no-destination needs {', '.join(f'-p {name}=URL' for name in missing)}")
    # Imported here: the runtime needs moto, which the CLI's other commands do not.
    from infra.aws.stack import load_template
    from infra.local.caldav import PASSWORD_PARAMETER, RadicaleServer
    from infra.local.demo import (
        API_KEY_PARAMETER,
        DEMO_API_KEY,
        DEMO_CALDAV_PASSWORD,
        DEMO_CALDAV_USER,
        DEMO_WEBHOOK_SECRET,
        WEBHOOK_SECRET_PARAMETER,
    )
    from infra.local.destination import DraftEventsDestination
    from infra.local.fast import FAST_PARAMETERS, FAST_SUBMIT_ENVIRONMENT, fast_template, submit_functions
    from infra.local.runtime import LocalRuntime, RuntimeOptions
    from infra.local.state import recorded
    from infra.local.webhook_receiver import WebhookReceiver

    configure_logging(verbose)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    options = RuntimeOptions(endpoint_url=endpoint_url, verbose=verbose, serve_api=api, api_port=api_port)
    if fast:
        template = fast_template(load_template())
        options.template = template
        overrides = {**FAST_PARAMETERS, **overrides}
        options.environment_overrides = {name: dict(FAST_SUBMIT_ENVIRONMENT) for name in submit_functions(template)}
    stand_in = DraftEventsDestination(api_key=DEMO_API_KEY) if destination else None
    receiver = WebhookReceiver([DEMO_WEBHOOK_SECRET]) if destination else None
    calendar = RadicaleServer(username=DEMO_CALDAV_USER, password=DEMO_CALDAV_PASSWORD) if with_caldav else None
    try:
        if stand_in is not None:
            overrides.setdefault("TicketfairyBaseUrl", stand_in.start())
        if receiver is not None:
            overrides.setdefault("WebhookUrl", receiver.start())
        if calendar is not None:
            calendar.start()
            for name, value in calendar.template_parameters().items():
                overrides.setdefault(name, value)
        options.parameter_overrides = overrides
        runtime = LocalRuntime(options)
        runtime.start()
        try:
            secrets = _parse_overrides(secret or [])
            if stand_in is not None:
                secrets.setdefault(API_KEY_PARAMETER, DEMO_API_KEY)
            if receiver is not None:
                secrets.setdefault(WEBHOOK_SECRET_PARAMETER, DEMO_WEBHOOK_SECRET)
            if calendar is not None:
                secrets.setdefault(PASSWORD_PARAMETER, DEMO_CALDAV_PASSWORD)
            for name, value in secrets.items():
                runtime.put_secure_parameter(name, value)
            env = runtime.environment("FanoutFunction")
            with recorded(runtime.state(destination_url=stand_in.base_url if stand_in else None)) as state_file:
                console.print(f"[green]local runtime up[/] at {runtime.endpoint_url}{' (fast)' if fast else ''}")
                console.print(f"  event cache table  {env['EVENT_CACHE_TABLE']}")
                console.print(f"  submissions table  {env['SUBMISSIONS_TABLE']}")
                if stand_in is not None:
                    console.print(f"  TicketFairy stand-in  {stand_in.base_url}")
                if receiver is not None:
                    console.print(f"  webhook receiver  {receiver.url}  (verifies every signature)")
                if calendar is not None:
                    console.print(f"  CalDAV calendar (Radicale)  {calendar.calendar_url}  ({DEMO_CALDAV_USER})")
                if api:
                    console.print(f"  HTTP API  {runtime.api_url}  (Swagger UI: {runtime.api_url}/swagger)")
                console.print(f"  state file  {state_file}", markup=False, highlight=False)
                console.print("in another terminal (no options needed while this runs):")
                console.print("  event-importer import examples/walkthrough.jsonl")
                console.print("  event-importer status")
                console.print("Ctrl-C to stop")
                # Wake up regularly: a wait with no timeout may not return promptly after a signal.
                while not stop.wait(0.5):
                    pass
        finally:
            runtime.stop()
    finally:
        if stand_in is not None:
            stand_in.stop()
        if receiver is not None:
            receiver.stop()
        if calendar is not None:
            calendar.stop()
    console.print("stopped")


# -- the stand-in destination --------------------------------------------------------------

stand_in_app = typer.Typer(
    help="Break and fix the local runtime's stand-in destination (to watch retries and the DLQ).",
    no_args_is_help=True,
)
UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="The stand-in's base URL (default: the running local runtime's)."),
]


def _stand_in_faults(url: str | None, method: str, plan: dict[str, float] | None = None) -> dict[str, object]:
    import httpx

    from infra.local.destination import FAULTS_PATH
    from infra.local.state import current_state

    if url is None:
        state = current_state()
        if state is None or state.destination_url is None:
            raise UsageError("no local runtime with a stand-in destination is running: start `event-importer local`")
        url = state.destination_url
    Console(stderr=True).print(f"target: stand-in destination at {url}", markup=False, highlight=False, soft_wrap=True)
    answer = httpx.request(method, url.rstrip("/") + FAULTS_PATH, json=plan, timeout=10)
    answer.raise_for_status()
    result: dict[str, object] = answer.json()
    return result


@stand_in_app.command("break")
def stand_in_break(
    rate: Annotated[
        float, typer.Option("--rate", min=0.0, max=1.0, help="Share of calls that fail (503, a retryable error).")
    ] = 1.0,
    url: UrlOption = None,
) -> None:
    """Make the stand-in answer 503 Service Unavailable: deliveries are retried, then dead-lettered."""
    _stand_in_faults(url, "PUT", {"fail_503": rate})
    console.print(f"stand-in destination broken: {rate:.0%} of calls answer 503 (event-importer stand-in fix)")


@stand_in_app.command("fix")
def stand_in_fix(url: UrlOption = None) -> None:
    """Make the stand-in answer normally again."""
    _stand_in_faults(url, "DELETE")
    console.print("stand-in destination fixed: every call is answered normally")


def demo_command(
    sample_file: Annotated[
        Path,
        typer.Option("--events", help="Events to import (JSON lines).", exists=True, dir_okay=False, readable=True),
    ] = SAMPLE_EVENTS,
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
    if summary.change_gating:
        gating = Table("integration", "record", title="change gating: one event gets a new thumbnail")
        for service, outcome in summary.change_gating.items():
            gating.add_row(service, outcome)
        console.print(gating)
    console.print(
        f"webhook receiver: {summary.webhook_messages} signed messages verified, "
        f"{summary.webhook_invalid_signatures} with a bad signature"
    )
    if summary.calendar_events is not None:
        console.print(f"the CalDAV calendar shows {summary.calendar_events} events (read back through CalDAV)")
    console.print("[green]ok[/]" if summary.ok else "[red]not every valid event was submitted[/]")
