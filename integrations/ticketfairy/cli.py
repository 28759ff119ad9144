"""TicketFairy's commands, under ``event-importer ticketfairy``.

The operations reach these commands through the CLI's context object (an
``integrations.operations.CommandHost``), so this module imports no infra.
"""

from __future__ import annotations

from typing import Annotated

import typer

from integrations.cli_options import EndpointOption, RegionOption, StackOption
from integrations.operations import CommandHost, OperationsPort, ReplayReport, ReplayRequest

app = typer.Typer(help="TicketFairy: submit events by URL.", no_args_is_help=True)


@app.command("submit-url")
def submit_url(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The event's source URL.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the exact payload; queue nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Re-deliver even a version already delivered.")] = False,
    stack: StackOption = "local",
    endpoint_url: EndpointOption = None,
    region: RegionOption = None,
) -> None:
    """Submit one event to TicketFairy by its source URL, through TicketFairy's queue."""
    host: CommandHost = ctx.obj

    def submit(operations: OperationsPort) -> ReplayReport:
        # Built inside the host's run: a bad URL is then refused like any other bad input.
        request = ReplayRequest(integration="ticketfairy", selector="by-url", url=url, dry_run=dry_run, force=force)
        return operations.replay(request)

    def ok(report: ReplayReport) -> bool:
        # Nothing imported from that URL is a failure for a command asked to submit it.
        return report.ok and report.selected == 1

    host.run(submit, stack=stack, endpoint_url=endpoint_url, region=region, ok=ok)
