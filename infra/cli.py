"""``event-importer``: the operator's command line.

Every operator command is a front door of the operations layer
(``infra.operations``), wired exactly as the replay and API functions are:
from the environment the stack gives its replay function, so the tables and
queues are found in the resources of a deployed stack (``--stack``): the
local runtime's (with ``--endpoint-url`` or ``AWS_ENDPOINT_URL``) or one
``sam deploy`` created (with credentials).  A refused request prints one
line and exits 2; nothing was done.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from infra.aws.settings import OperationsSettings, TableSettings
from infra.aws.stack import Stack, StackError, describe
from infra.aws.store import DynamoStore
from infra.local import cli as local_cli
from infra.operations import Operations, answer_for
from infra.pipeline.importer import ImportReport, enrich_events, import_events, read_items
from infra.runtime.operations import build_operations
from integrations.env import load_env_model
from integrations.errors import ConfigurationError, IntegrationError
from integrations.operations import OperationsPort, ReplayRequest
from integrations.records import SubmissionStatus
from integrations.registry import all_integrations

app = typer.Typer(help="Deliver cached events to integrations, and see what happened.", no_args_is_help=True)
integrations_app = typer.Typer(help="Registered integrations.", no_args_is_help=True)
app.add_typer(integrations_app, name="integrations")
# `event-importer integration new NAME` reads better in the singular; the same commands.
app.add_typer(integrations_app, name="integration", hidden=True)
dlq_app = typer.Typer(help="Dead-letter queues: inspect and redrive.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
events_app = typer.Typer(help="The event cache.", no_args_is_help=True)
app.add_typer(events_app, name="events")
console = Console()
errors = Console(stderr=True)

DEFAULT_STACK = "local"
#: The function whose environment describes the operations' view of a stack.
OPERATIONS_FUNCTION = "ReplayFunction"

EndpointOption = Annotated[
    str | None,
    typer.Option("--endpoint-url", envvar="AWS_ENDPOINT_URL", help="AWS endpoint (the local runtime's URL)."),
]
StackOption = Annotated[
    str,
    typer.Option("--stack", envvar="EVENT_IMPORTER_STACK", help="Stack name (sam deploy's or the local runtime's)."),
]
RegionOption = Annotated[str | None, typer.Option("--region", envvar="AWS_REGION", help="AWS region.")]


def _region(region: str | None, endpoint_url: str | None) -> str | None:
    # The local runtime lives in us-east-1; against AWS, botocore's own lookup decides.
    return region or ("us-east-1" if endpoint_url else None)


def _stack(stack: str, endpoint_url: str | None, region: str | None) -> Stack:
    try:
        return describe(stack, region=_region(region, endpoint_url), endpoint_url=endpoint_url)
    except StackError as exc:
        raise ConfigurationError(str(exc)) from exc


def _store(stack: str, endpoint_url: str | None, region: str | None) -> DynamoStore:
    outputs = _stack(stack, endpoint_url, region).outputs
    settings = TableSettings(
        event_cache_table=outputs["EventCacheTableName"],
        submissions_table=outputs["SubmissionsTableName"],
        aws_region=_region(region, endpoint_url),
        aws_endpoint_url=endpoint_url,
    )
    return DynamoStore(settings)


def operations_for(stack: str, endpoint_url: str | None, region: str | None) -> Operations:
    """The operations layer on the stack ``stack``, wired from its replay function's environment."""
    deployed = _stack(stack, endpoint_url, region)
    if OPERATIONS_FUNCTION not in deployed.functions:
        raise ConfigurationError(f"stack {stack} has no {OPERATIONS_FUNCTION}: deploy the current template.yaml")
    environment = {
        **deployed.env(OPERATIONS_FUNCTION),
        "AWS_REGION": _region(region, endpoint_url) or "",
        "AWS_ENDPOINT_URL": endpoint_url or "",
    }
    # Payload settings (e.g. TICKETFAIRY_STATUS) as the submit functions have them, for exact dry runs.
    payload_environment = {k: v for function in deployed.functions.values() for k, v in function.environment.items()}
    return build_operations(load_env_model(OperationsSettings, environment), payload_environment)


class CommandHost:
    """Runs one operation for a command and prints its answer (``integrations.operations.CommandHost``)."""

    def run(
        self,
        action: Callable[[OperationsPort], BaseModel],
        *,
        stack: str,
        endpoint_url: str | None,
        region: str | None,
        ok: Callable[[Any], bool] | None = None,
    ) -> None:
        try:
            answer = action(operations_for(stack, endpoint_url, region))
        except Exception as exc:
            refusal = answer_for(exc)
            if refusal is None:
                raise
            errors.print(f"[red]error:[/] {escape(refusal.message)}")
            raise typer.Exit(refusal.exit_code) from None
        console.print_json(answer.model_dump_json())
        if ok is not None and not ok(answer):
            raise typer.Exit(1)


def _run(
    action: Callable[[Operations], Any],
    stack: str,
    endpoint_url: str | None,
    region: str | None,
    ok: Callable[[Any], bool] | None = None,
) -> None:
    CommandHost().run(
        lambda ops: _as_model(action(ops)),  # type: ignore[arg-type]  # the CLI's own Operations, not the port
        stack=stack,
        endpoint_url=endpoint_url,
        region=region,
        ok=ok,
    )


class _Answer(BaseModel):
    items: list[Any]


def _as_model(answer: Any) -> BaseModel:
    return answer if isinstance(answer, BaseModel) else _Answer(items=answer)


@app.callback()
def _callback(ctx: typer.Context) -> None:
    # Integrations' commands reach the operations through this, never by importing infra.
    ctx.obj = CommandHost()


@integrations_app.command("list")
def list_integrations(
    stack: StackOption = DEFAULT_STACK,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """List registered integrations, what they support and their queues' depths in the stack."""
    _run(lambda ops: ops.integrations(), stack, endpoint_url, region)


@integrations_app.command("new")
def new_integration(
    name: Annotated[str, typer.Argument(help="The integration's name: lower-case letters, digits, underscores.")],
    root: Annotated[Path, typer.Option("--root", help="The checkout to write into.")] = Path(),
    interfaces: Annotated[
        bool, typer.Option(help="Also write routes.py, cli.py and mcp_tools.py (HTTP, CLI and MCP front doors).")
    ] = True,
) -> None:
    """Write a working integration NAME: package, tests, sample event, entry point, template block, build target."""
    from infra.scaffold import ScaffoldError, scaffold

    root = root.resolve()
    try:
        written = scaffold(root, name, interfaces=interfaces)
    except ScaffoldError as exc:
        errors.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    for path in written:
        console.print(f"  wrote {path.relative_to(root)}")
    camel = "".join(part.title() for part in name.split("_"))
    steps = (
        f"next: pip install -e '.[dev]' (registers the entry point), fill in integrations/{name}/transformer.py "
        f"and client.py, then make test; deploy with {camel}Url=https://... to switch it on"
    )
    console.print(escape(steps))


@app.command("status")
def status_command(
    stack: StackOption = DEFAULT_STACK,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Records by status, queue and DLQ depth and the oldest pending record, per integration."""
    _run(lambda ops: ops.status(), stack, endpoint_url, region)


@events_app.command("show")
def event_show_command(
    event_id: Annotated[str | None, typer.Argument(help="The event's id.")] = None,
    url: Annotated[str | None, typer.Option("--url", help="The event's source URL, instead of its id.")] = None,
    stack: StackOption = DEFAULT_STACK,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """A cached event and its submission record for each integration."""
    _run(lambda ops: ops.event(event_id, url=url), stack, endpoint_url, region)


@app.command("replay")
def replay_command(
    integration: Annotated[str, typer.Argument(help="Integration name.")],
    selector: Annotated[
        str, typer.Option("--selector", help="unsubmitted, failed, pending, all or by-url.")
    ] = "unsubmitted",
    url: Annotated[str | None, typer.Option("--url", help="Source URL, for the by-url selector.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the exact payloads; queue nothing.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Select at most this many events.")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Re-deliver versions already delivered (as updates where supported).")
    ] = False,
    stack: StackOption = DEFAULT_STACK,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Queue the events a selector chooses on the integration's queue, as fan-out does (retries, DLQ, records).

    Exits 1 when an event could not be queued (each is listed), 2 when the request is refused.
    """

    def replay(ops: Operations) -> BaseModel:
        request = ReplayRequest(
            integration=integration, selector=selector, url=url, dry_run=dry_run, limit=limit, force=force
        )
        return ops.replay(request)

    _run(replay, stack, endpoint_url, region, ok=lambda report: report.ok)


# The former direct submission, kept as a name for scripts: it now queues, as replay does.
app.command("submit", hidden=True, help="Deprecated name of replay.")(replay_command)


@app.command("import")
def import_command(
    file: Annotated[str, typer.Argument(help="JSON array or JSON lines; '-' reads standard input.")],
    stack: StackOption = DEFAULT_STACK,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Import events into the cache; only new or changed ones are written (and delivered).

    Exits 1 when any line or item was refused (each is reported), 0 otherwise.
    """
    store = _store(stack, endpoint_url, region)
    if file == "-":
        items = list(read_items(sys.stdin.buffer))
    else:
        with Path(file).open("rb") as stream:
            items = list(read_items(stream))
    report = import_events(store.events, items)
    _print_report(report)
    if report.invalid and not report.outcomes:
        raise typer.Exit(1)


@events_app.command("enrich")
def enrich_command(
    all_events: Annotated[
        bool, typer.Option("--all", help="Every cached event, not only those cached without a time zone.")
    ] = False,
    stack: StackOption = DEFAULT_STACK,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Resolve and store the time zone of cached events, as an import would; changed events are re-delivered."""
    store = _store(stack, endpoint_url, region)
    _print_report(enrich_events(store.events, only_missing_zone=not all_events))


def _print_report(report: ImportReport) -> None:
    for invalid in report.invalid:
        # Escaped: the problem quotes the input, which may look like rich markup.
        errors.print(f"[yellow]skipped[/] {escape(str(invalid))}")
    for note in report.notes:
        errors.print(f"[cyan]note[/] {escape(str(note))}")
    console.print(
        f"created {report.count('created')}, updated {report.count('updated')}, "
        f"unchanged {report.count('unchanged')}, invalid {len(report.invalid)}"
    )
    # Scripts must be able to tell "all imported" from "some refused" without parsing the report.
    if report.invalid:
        raise typer.Exit(1)


@app.command("submissions")
def submissions_command(
    integration: Annotated[str | None, typer.Option("--integration", "-i", help="Only this integration.")] = None,
    status: Annotated[SubmissionStatus | None, typer.Option("--status", "-s", help="Only this status.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="Records per integration.")] = 100,
    stack: StackOption = DEFAULT_STACK,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Show submission records as a table (the first ``--limit`` of each integration)."""
    try:
        ops = operations_for(stack, endpoint_url, region)
        names = [integration] if integration else [i.name for i in all_integrations()]
        pages = [ops.submissions(name, status.value if status else None, limit=limit) for name in names]
    except Exception as exc:
        refusal = answer_for(exc)
        if refusal is None:
            raise
        errors.print(f"[red]error:[/] {escape(refusal.message)}")
        raise typer.Exit(refusal.exit_code) from None
    table = Table("event", "integration", "status", "attempts", "remote id", "updated", "last error")
    for page in pages:
        for record in page.items:
            table.add_row(
                record.event_id,
                record.integration,
                record.status,
                str(record.attempts),
                record.remote_id or "",
                record.updated_at.isoformat(timespec="seconds") if record.updated_at else "",
                record.last_error or "",
            )
    console.print(table)


@dlq_app.command("redrive")
def dlq_redrive_command(
    integration: Annotated[str, typer.Argument(help="Integration whose DLQ to redrive.")],
    limit: Annotated[int | None, typer.Option("--limit", help="Move at most this many messages.")] = None,
    stack: StackOption = DEFAULT_STACK,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Move dead-lettered messages back to the integration's queue (the console's "Start DLQ redrive")."""
    _run(lambda ops: ops.redrive(integration, limit), stack, endpoint_url, region, ok=lambda r: not r.failed)


@dlq_app.command("show")
def dlq_show_command(
    integration: Annotated[str, typer.Argument(help="Integration whose DLQ to show.")],
    stack: StackOption = DEFAULT_STACK,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Count the DLQ's messages and show a few, with the reason each was dead-lettered (if recorded)."""
    _run(lambda ops: ops.dead_letters(integration), stack, endpoint_url, region)


@app.command("mcp")
def mcp_command(
    stack: StackOption = DEFAULT_STACK,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Serve the operations as MCP tools on standard input/output (for an MCP client such as an assistant)."""
    from infra.interfaces.mcp import serve  # imported here: the MCP SDK is needed by this command only

    serve(lambda: operations_for(stack, endpoint_url, region))


# The local runtime's commands; their module defers importing moto until one of them runs.
app.command("local")(local_cli.local_command)
app.command("demo")(local_cli.demo_command)


def build_cli() -> typer.Typer:
    """The app with each integration's ``cli.py`` commands under its name (added once)."""
    mounted = {group.name for group in app.registered_groups}
    for integration in all_integrations():
        extra = integration.get_cli()
        if extra is not None and integration.name not in mounted:
            app.add_typer(extra, name=integration.name)
    return app


def main() -> None:
    """Console-script entry point: run the app, turning framework errors into one clear line."""
    build_cli()
    try:
        app()
    except (ConfigurationError, IntegrationError) as exc:
        errors.print(f"[red]error:[/] {exc}")
        sys.exit(2)
