"""``event-importer``: the operator's command line.

Every command talks to AWS through the same store the functions use, and
finds the tables and queues in the resources of a deployed stack (``--stack``):
the local runtime's (with ``--endpoint-url`` or ``AWS_ENDPOINT_URL``) or one
``sam deploy`` created (with credentials).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import boto3
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from infra.aws.secrets import resolve_secret
from infra.aws.settings import TableSettings
from infra.aws.stack import Stack, StackError, describe
from infra.aws.store import DynamoStore
from infra.local import cli as local_cli
from infra.pipeline.importer import ImportReport, enrich_events, import_events, read_items
from infra.pipeline.redrive import redrive
from integrations.errors import ConfigurationError, IntegrationError
from integrations.records import SubmissionStatus
from integrations.registry import all_integrations, get_integration

app = typer.Typer(help="Deliver cached events to integrations, and see what happened.", no_args_is_help=True)
integrations_app = typer.Typer(help="Registered integrations.", no_args_is_help=True)
app.add_typer(integrations_app, name="integrations")
dlq_app = typer.Typer(help="Dead-letter queues: inspect and redrive.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
events_app = typer.Typer(help="The event cache.", no_args_is_help=True)
app.add_typer(events_app, name="events")
console = Console()
errors = Console(stderr=True)

DEFAULT_STACK = "local"

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


@integrations_app.command("list")
def list_integrations() -> None:
    """List registered integrations and whether each is configured."""
    table = Table("name", "enabled", "updates", "deletes", "interfaces")
    for integration in all_integrations():
        interfaces = [
            name
            for name, present in (
                ("routes", integration.get_routes() is not None),
                ("cli", integration.get_cli() is not None),
                ("mcp", bool(integration.get_mcp_tools()[0])),
            )
            if present
        ]
        table.add_row(
            integration.name,
            "yes" if integration.is_enabled() else "no (not configured)",
            "yes" if integration.supports_updates else "no",
            "yes" if integration.supports_deletes else "no",
            ", ".join(interfaces) or "-",
        )
    console.print(table)


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
    stack: StackOption = DEFAULT_STACK,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Show submission records as a table."""
    store = _store(stack, endpoint_url, region)
    names = [integration] if integration else [i.name for i in all_integrations()]
    table = Table("event", "integration", "status", "attempts", "remote id", "updated", "last error")
    for name in names:
        for record in store.submissions.records(name, status):
            table.add_row(
                record.event_id,
                record.service,
                record.status.value,
                str(record.attempts),
                record.remote_id or "",
                record.updated_at.isoformat(timespec="seconds") if record.updated_at else "",
                record.last_error or "",
            )
    console.print(table)


@app.command("submit")
def submit_command(
    integration: Annotated[str, typer.Argument(help="Integration name.")],
    selector: Annotated[
        str, typer.Option("--selector", help="unsubmitted, failed, pending, all or by-url.")
    ] = "unsubmitted",
    url: Annotated[str | None, typer.Option("--url", help="Source URL, for the by-url selector.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the exact payloads; send and record nothing.")
    ] = False,
    stack: StackOption = DEFAULT_STACK,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Submit the events a selector chooses, directly (not through the queue)."""
    store = _store(stack, endpoint_url, region)
    chosen = get_integration(integration)
    submitter = chosen.create_submitter(store, chosen.load_config(), resolve_secret)
    params: dict[str, Any] = {"url": url} if url else {}

    async def run() -> list[dict[str, object]]:
        try:
            results = await submitter.submit_events(selector, dry_run=dry_run, **params)
        finally:
            await submitter.aclose()
        return [
            {
                "event_id": r.event_id,
                "status": r.status.value,
                "remote_id": r.remote_id,
                "error": r.error,
                "detail": r.detail,
                **({"payload": r.payload} if dry_run else {}),
            }
            for r in results
        ]

    console.print_json(json.dumps(asyncio.run(run())))


def _queues(integration: str, stack: str, endpoint_url: str | None, region: str | None) -> tuple[Any, str, str]:
    get_integration(integration)  # an unknown name fails here, listing the known ones
    for function in _stack(stack, endpoint_url, region).functions.values():
        if function.environment.get("INTEGRATION_NAME") == integration:
            sqs = boto3.client("sqs", region_name=_region(region, endpoint_url), endpoint_url=endpoint_url)
            return sqs, function.environment["QUEUE_URL"], function.environment["DEAD_LETTER_QUEUE_URL"]
    raise ConfigurationError(f"stack {stack} has no submit function for {integration}")


@dlq_app.command("redrive")
def dlq_redrive_command(
    integration: Annotated[str, typer.Argument(help="Integration whose DLQ to redrive.")],
    limit: Annotated[int | None, typer.Option("--limit", help="Move at most this many messages.")] = None,
    stack: StackOption = DEFAULT_STACK,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Move dead-lettered messages back to the integration's queue (the console's "Start DLQ redrive")."""
    sqs, source, dead_letter = _queues(integration, stack, endpoint_url, region)
    report = redrive(sqs, dead_letter_queue_url=dead_letter, source_queue_url=source, limit=limit)
    console.print(f"moved {report.moved} message(s) from {dead_letter} to {source}")
    if report.failed:
        errors.print(f"[red]{len(report.failed)} could not be moved[/]: {', '.join(sorted(report.failed))}")
        raise typer.Exit(1)


@dlq_app.command("show")
def dlq_show_command(
    integration: Annotated[str, typer.Argument(help="Integration whose DLQ to show.")],
    stack: StackOption = DEFAULT_STACK,
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Count the DLQ's messages and show a few, with the reason each was dead-lettered (if recorded)."""
    sqs, _, dead_letter = _queues(integration, stack, endpoint_url, region)
    attributes = sqs.get_queue_attributes(QueueUrl=dead_letter, AttributeNames=["ApproximateNumberOfMessages"])
    console.print(f"{attributes['Attributes']['ApproximateNumberOfMessages']} message(s) in {dead_letter}")
    # Peek without hiding them: a zero visibility timeout leaves them in place.
    peeked = sqs.receive_message(
        QueueUrl=dead_letter, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=0
    ).get("Messages", [])
    table = Table("message", "event", "reason")
    for message in peeked:
        try:
            event_id = str(json.loads(message["Body"]).get("event_id", ""))
        except (ValueError, AttributeError):
            event_id = "(unreadable)"
        reason = message.get("MessageAttributes", {}).get("error", {}).get("StringValue", "retries exhausted")
        table.add_row(message["MessageId"], event_id, reason)
    console.print(table)


# The local runtime's commands; their module defers importing moto until one of them runs.
app.command("local")(local_cli.local_command)
app.command("demo")(local_cli.demo_command)


def main() -> None:
    """Console-script entry point: run the app, turning framework errors into one clear line."""
    for integration in all_integrations():
        extra = integration.get_cli()
        if extra is not None:
            app.add_typer(extra, name=integration.name)
    try:
        app()
    except (ConfigurationError, IntegrationError) as exc:
        errors.print(f"[red]error:[/] {exc}")
        sys.exit(2)
