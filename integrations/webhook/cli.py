"""The webhook's commands, under ``event-importer webhook``: its endpoint's state, and re-enabling it."""

from __future__ import annotations

import typer

from integrations.front_doors.cli import EndpointOption, RegionOption, StackOption
from integrations.operations import CommandHost, EndpointView, OperationsPort

app = typer.Typer(help="Webhook: the endpoint's state (disabled after a 410 Gone).", no_args_is_help=True)

Stack = StackOption
Endpoint = EndpointOption
Region = RegionOption


@app.command("endpoint")
def endpoint(ctx: typer.Context, stack: Stack = "local", endpoint_url: Endpoint = None, region: Region = None) -> None:
    """Show whether the webhook endpoint takes deliveries, and why not."""
    host: CommandHost = ctx.obj

    def show(operations: OperationsPort) -> EndpointView:
        return operations.endpoint("webhook")

    host.run(show, stack=stack, endpoint_url=endpoint_url, region=region)


@app.command("enable")
def enable(ctx: typer.Context, stack: Stack = "local", endpoint_url: Endpoint = None, region: Region = None) -> None:
    """Re-enable the endpoint after a 410 Gone; then `event-importer replay webhook --selector failed`."""
    host: CommandHost = ctx.obj

    def act(operations: OperationsPort) -> EndpointView:
        return operations.enable_endpoint("webhook")

    host.run(act, stack=stack, endpoint_url=endpoint_url, region=region)
