"""``event-importer``: the operator's command line.

Every operator command is a front door of the operations layer
(``infra.operations``), wired as the replay and API functions are: from the
environment the stack gives its replay function.  Which stack, where, is
decided once per command (``infra.interfaces.target``): an explicit
``--endpoint-url``, ``--profile`` or ``--region``; else the running local
runtime (its state file); else the usual AWS configuration.  The choice is
printed on stderr as ``target: ...``.

Answers are tables that fit the terminal (``--wide``: whole cells) or, with
``--json``, exactly what the HTTP API answers.  An operator's mistake or an
expected failure is one line on stderr and exit code 2 (usage) or 1
(failure); ``--debug`` (or ``EVENT_IMPORTER_DEBUG=1``) shows the traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from typer._click.exceptions import NoArgsIsHelpError
from typer.core import TyperGroup

from infra.aws.settings import OperationsSettings
from infra.aws.stack import Stack, StackNotFoundError, describe
from infra.interfaces.target import DEFAULT_STACK, Target, resolve
from infra.local import cli as local_cli
from infra.operations import Operations
from infra.operations.models import ImportResult, RedriveResult
from infra.pipeline.importer import read_items
from infra.runtime.operations import build_operations
from infra.terminal import Output, failure_for, views
from integrations.env import load_env_model
from integrations.errors import ConfigurationError, NotDeployedError
from integrations.operations import OperationsPort, ReplayRequest
from integrations.records import SubmissionStatus
from integrations.registry import all_integrations

#: The function whose environment describes the operations' view of a stack.
OPERATIONS_FUNCTION = "ReplayFunction"
DEBUG_VARIABLE = "EVENT_IMPORTER_DEBUG"
#: Items per import call: progress moves in these steps.
IMPORT_CHUNK = 100
#: Messages per redrive call: progress moves in these steps.
REDRIVE_CHUNK = 10

errors = Console(stderr=True, highlight=False)


class CommandGroup(TyperGroup):
    """The app's root: every expected failure becomes one line and an exit code (``infra.terminal.errors``)."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        arguments = list(sys.argv[1:] if args is None else args)
        # Accepted anywhere on the line, so it can be added to any failing command as typed.
        debug = "--debug" in arguments or os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")
        arguments = [argument for argument in arguments if argument != "--debug"]
        try:
            result = super().main(arguments, prog_name, complete_var, standalone_mode=False, **extra)
            code = result if isinstance(result, int) else 0
        except NoArgsIsHelpError as exc:
            typer.echo(exc.format_message())
            code = 2
        except (Exception, KeyboardInterrupt) as exc:
            failure = failure_for(exc)
            if failure is None or debug:
                raise
            errors.print(f"[red]error:[/] {escape(failure.message)}", soft_wrap=True)
            code = failure.exit_code
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=CommandGroup,
    help="Deliver cached events to integrations, and see what happened.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
integrations_app = typer.Typer(help="Registered integrations.", no_args_is_help=True)
app.add_typer(integrations_app, name="integrations")
# `event-importer integration new NAME` reads better in the singular; the same commands.
app.add_typer(integrations_app, name="integration", hidden=True)
dlq_app = typer.Typer(help="Dead-letter queues: inspect and redrive.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
events_app = typer.Typer(help="The event cache.", no_args_is_help=True)
app.add_typer(events_app, name="events")
app.add_typer(local_cli.stand_in_app, name="stand-in")
index_app = typer.Typer(help="The selection index (unsubmitted, failed, pending).", no_args_is_help=True)
app.add_typer(index_app, name="index")

EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url", envvar="AWS_ENDPOINT_URL", help="AWS endpoint (default: the running local runtime's)."
    ),
]
StackOption = Annotated[
    str | None,
    typer.Option(
        "--stack",
        envvar="EVENT_IMPORTER_STACK",
        help=f"Stack name (sam deploy's; default: the local runtime's, else {DEFAULT_STACK}).",
        show_default=False,
    ),
]
# No envvar on purpose: AWS_REGION and AWS_PROFILE are "the usual AWS configuration", which the running
# local runtime outranks; only the options themselves say "AWS, not the local runtime".
RegionOption = Annotated[str | None, typer.Option("--region", help="AWS region (targets AWS).")]
ProfileOption = Annotated[str | None, typer.Option("--profile", help="AWS profile (targets AWS).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the answer as JSON (as the HTTP API gives it).")]
WideOption = Annotated[bool, typer.Option("--wide", help="Show every cell whole, however wide the table.")]


# -- wiring -------------------------------------------------------------------------------


def target_for(stack: str | None, endpoint_url: str | None, profile: str | None, region: str | None) -> Target:
    """The command's target (see ``infra.interfaces.target``), announced on stderr."""
    target = resolve(stack=stack, endpoint_url=endpoint_url, profile=profile, region=region)
    errors.print(target.describe(), markup=False, soft_wrap=True)
    return target


def _deployed(target: Target) -> Stack:
    try:
        return describe(
            target.stack, region=target.region, endpoint_url=target.endpoint_url, session=target.boto3_session()
        )
    except StackNotFoundError:
        where = f"at {target.endpoint_url}" if target.endpoint_url else f"in {target.region}"
        hint = (
            "start `event-importer local`, or name the stack with --stack"
            if target.endpoint_url
            else "deploy it with `sam deploy`, or name another with --stack (or start `event-importer local`)"
        )
        raise NotDeployedError(f"no stack {target.stack!r} {where}: {hint}") from None


def operations_for(target: Target) -> Operations:
    """The operations layer on the target's stack, wired from its replay function's environment."""
    deployed = _deployed(target)
    if OPERATIONS_FUNCTION not in deployed.functions:
        raise NotDeployedError(f"stack {target.stack} has no {OPERATIONS_FUNCTION}: deploy the current template.yaml")
    environment = {
        **deployed.env(OPERATIONS_FUNCTION),
        "AWS_REGION": target.region,
        "AWS_ENDPOINT_URL": target.endpoint_url or "",
    }
    # Integration settings as the stack's submit functions have them: dry runs shape payloads exactly as
    # they would be sent, and nothing of this machine's environment (a production URL) leaks in.
    submit_environments = {
        function.environment["INTEGRATION_NAME"]: function.environment
        for function in deployed.functions.values()
        if "INTEGRATION_NAME" in function.environment
    }
    payload_environment = {k: v for env in submit_environments.values() for k, v in env.items()}
    return build_operations(
        load_env_model(OperationsSettings, environment),
        payload_environment,
        session=target.botocore_session(),
        submit_environments=submit_environments,
    )


def _operations(stack: str | None, endpoint_url: str | None, profile: str | None, region: str | None) -> Operations:
    return operations_for(target_for(stack, endpoint_url, profile, region))


class CommandHost:
    """Runs one operation for an integration's command and prints its answer as JSON.

    ``integrations.operations.CommandHost``: a refusal propagates to ``CommandGroup``, which prints it
    as one line with its exit code.
    """

    def run(
        self,
        action: Callable[[OperationsPort], BaseModel],
        *,
        stack: str,
        endpoint_url: str | None,
        region: str | None,
        ok: Callable[[Any], bool] | None = None,
    ) -> None:
        # An integration's --stack defaults to "local": that is "whatever the local runtime runs".
        chosen = None if stack == DEFAULT_STACK else stack
        answer = action(_operations(chosen, endpoint_url, None, region))
        Output(as_json=True).json(answer)
        if ok is not None and not ok(answer):
            raise typer.Exit(1)


@app.callback()
def _callback(
    ctx: typer.Context,
    debug: Annotated[
        bool, typer.Option("--debug", help=f"Show tracebacks (also {DEBUG_VARIABLE}=1); accepted anywhere.")
    ] = False,
) -> None:
    # Integrations' commands reach the operations through this, never by importing infra.
    ctx.obj = CommandHost()


# -- integrations and status ----------------------------------------------------------------


@integrations_app.command("list")
def list_integrations(
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """Registered integrations: queue, function and settings in the target, and queue depths."""
    states = _operations(stack, endpoint_url, profile, region).integrations()
    views.show_integrations(Output(as_json=as_json, wide=wide), states)


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
        typer.echo(f"  wrote {path.relative_to(root)}")
    camel = "".join(part.title() for part in name.split("_"))
    steps = (
        f"next: fill in integrations/{name}/transformer.py and client.py, then make test (it re-installs the "
        f"project, pyproject.toml having changed: that registers the entry point); deploy with "
        f"{camel}Url=https://... to switch it on"
    )
    typer.echo(steps)


@app.command("status")
def status_command(
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """Per integration: records by status, queue and DLQ depth, and the oldest pending record."""
    summary = _operations(stack, endpoint_url, profile, region).status()
    views.show_status(Output(as_json=as_json, wide=wide), summary)


# -- events and submissions -----------------------------------------------------------------


@events_app.command("show")
def event_show_command(
    event_id: Annotated[str | None, typer.Argument(help="The event's id.")] = None,
    url: Annotated[str | None, typer.Option("--url", help="The event's source URL, instead of its id.")] = None,
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """A cached event and its submission record for each integration."""
    view = _operations(stack, endpoint_url, profile, region).event(event_id, url=url)
    views.show_event(Output(as_json=as_json, wide=wide), view)


@app.command("submissions")
def submissions_command(
    integration: Annotated[str | None, typer.Option("--integration", "-i", help="Only this integration.")] = None,
    status: Annotated[SubmissionStatus | None, typer.Option("--status", "-s", help="Only this status.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="Records per integration.")] = 100,
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """Submission records (the first ``--limit`` of each integration), newest information first."""
    ops = _operations(stack, endpoint_url, profile, region)
    names = [integration] if integration else [i.name for i in all_integrations()]
    pages = [ops.submissions(name, status.value if status else None, limit=limit) for name in names]
    out = Output(as_json=as_json, wide=wide)
    views.show_submissions(out, pages, integration=integration, status=status.value if status else None, limit=limit)


# -- import -----------------------------------------------------------------------------------


FileArgument = Annotated[str, typer.Argument(help="JSON array or JSON lines; '-' reads standard input.")]


@app.command("import")
def import_command(
    file: FileArgument,
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import events into the cache; only new or changed ones are written (and delivered).

    Exits 1 when any line or item was refused (each is reported), 0 otherwise.
    """
    if file != "-" and not Path(file).is_file():
        # Checked before anything else: a typo must not wait for (or fail on) the target.
        raise typer.BadParameter(f"no file {file!r}", param_hint="FILE")
    ops = _operations(stack, endpoint_url, profile, region)
    if file == "-":
        items = list(read_items(sys.stdin.buffer))
    else:
        with Path(file).open("rb") as stream:
            items = list(read_items(stream))
    out = Output(as_json=as_json)
    parts: list[ImportResult] = []
    with out.progress("importing", total=len(items)) as advance:
        for start in range(0, len(items), IMPORT_CHUNK):
            chunk = items[start : start + IMPORT_CHUNK]
            parts.append(ops.import_items(chunk))
            advance(len(chunk))
    _finish_import(out, _merged(parts))


def _finish_import(out: Output, result: ImportResult) -> None:
    views.show_import(out, result)
    # Scripts must be able to tell "all imported" from "some refused" without parsing the report.
    if result.invalid:
        raise typer.Exit(1)


def _merged(parts: Sequence[ImportResult]) -> ImportResult:
    return ImportResult(
        created=sum(part.created for part in parts),
        updated=sum(part.updated for part in parts),
        unchanged=sum(part.unchanged for part in parts),
        invalid=[item for part in parts for item in part.invalid],
        notes=[note for part in parts for note in part.notes],
        event_ids=[event_id for part in parts for event_id in part.event_ids],
    )


@events_app.command("enrich")
def enrich_command(
    all_events: Annotated[
        bool, typer.Option("--all", help="Every cached event, not only those cached without a time zone.")
    ] = False,
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    as_json: JsonOption = False,
) -> None:
    """Resolve and store the time zone of cached events, as an import would; changed events are re-delivered."""
    ops = _operations(stack, endpoint_url, profile, region)
    out = Output(as_json=as_json)
    with out.status("enriching cached events"):
        result = ops.enrich(only_missing_zone=not all_events)
    _finish_import(out, result)


# -- replay ---------------------------------------------------------------------------------


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
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """Queue the events a selector chooses on the integration's queue, as fan-out does (retries, DLQ, records).

    A dry run reads no API key and sends nothing.  Exits 1 when an event could not be queued (each is
    listed), 2 when the request is refused.
    """
    request = ReplayRequest(
        integration=integration, selector=selector, url=url, dry_run=dry_run, limit=limit, force=force
    )
    ops = _operations(stack, endpoint_url, profile, region)
    out = Output(as_json=as_json, wide=wide)
    with out.status(f"selecting {selector} events for {integration}"):
        report = ops.replay(request)
    views.show_replay(out, report)
    if not report.ok:
        raise typer.Exit(1)


# The former direct submission, kept as a name for scripts: it now queues, as replay does.
app.command("submit", hidden=True, help="Deprecated name of replay.")(replay_command)


# -- dead-letter queues ---------------------------------------------------------------------


@index_app.command("build")
def index_build_command(
    integration: Annotated[str, typer.Argument(help="Integration whose selection index to build.")],
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fill the selection index from the tables: once after the first deploy (the local runtime does it itself)."""
    ops = _operations(stack, endpoint_url, profile, region)
    out = Output(as_json=as_json)
    with out.status(f"building {integration}'s selection index"):
        result = ops.build_index(integration)
    views.show_index_build(out, result)
    if not result.built:
        raise typer.Exit(1)


@dlq_app.command("show")
def dlq_show_command(
    integration: Annotated[str, typer.Argument(help="Integration whose DLQ to show.")],
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    as_json: JsonOption = False,
    wide: WideOption = False,
) -> None:
    """Count the DLQ's messages and show a few, with the reason each was dead-lettered (if recorded)."""
    view = _operations(stack, endpoint_url, profile, region).dead_letters(integration)
    views.show_dead_letters(Output(as_json=as_json, wide=wide), view)


@dlq_app.command("redrive")
def dlq_redrive_command(
    integration: Annotated[str, typer.Argument(help="Integration whose DLQ to redrive.")],
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Move at most this many messages.")] = None,
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move dead-lettered messages back to the integration's queue (the console's "Start DLQ redrive")."""
    ops = _operations(stack, endpoint_url, profile, region)
    depth = ops.dead_letters(integration).depth
    total = min(depth, limit) if limit else depth
    out = Output(as_json=as_json)
    moved, failed = 0, dict[str, str]()
    with out.progress("redriving", total=total) as advance:
        while limit is None or moved < limit:
            step = REDRIVE_CHUNK if limit is None else min(REDRIVE_CHUNK, limit - moved)
            result = ops.redrive(integration, step)
            moved += result.moved
            failed.update(result.failed)
            advance(result.moved)
            if result.moved < step or result.failed:
                break
    views.show_redrive(out, RedriveResult(integration=integration, moved=moved, failed=failed))
    if failed:
        raise typer.Exit(1)


# -- other front doors -----------------------------------------------------------------------


@app.command("mcp")
def mcp_command(
    stack: StackOption = None,
    endpoint_url: EndpointOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
) -> None:
    """Serve the operations as MCP tools on standard input/output (for an MCP client such as an assistant)."""
    from infra.interfaces.mcp import serve  # imported here: the MCP SDK is needed by this command only

    target = target_for(stack, endpoint_url, profile, region)
    serve(lambda: operations_for(target))


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
    """Console-script entry point."""
    try:
        command = typer.main.get_command(build_cli())
    except ConfigurationError as exc:  # a broken integration registration
        errors.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(1)
    command.main(prog_name="event-importer")
