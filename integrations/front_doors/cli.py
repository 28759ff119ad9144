"""The target options every integration's commands take, and its ``submit-url`` command.

One definition, so that each integration's commands find their deployment as the
core commands do: a running local runtime outranks the usual AWS configuration,
so ``AWS_REGION`` is not read as an explicit ``--region``. Imported by the
integrations' ``cli.py`` only (typer is not in any function's artifact).
"""

from __future__ import annotations

from typing import Annotated

import typer

from integrations.operations import CommandHost, OperationsPort, ReplayReport, ReplayRequest

StackOption = Annotated[str, typer.Option("--stack", envvar="EVENT_IMPORTER_STACK", help="Stack name.")]
EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url", envvar="AWS_ENDPOINT_URL", help="AWS endpoint (default: the running local runtime's)."
    ),
]
# No envvar: AWS_REGION is the usual AWS configuration, which a running local runtime outranks.
RegionOption = Annotated[str | None, typer.Option("--region", help="AWS region (targets AWS).")]


def submit_url_app(integration: str, title: str) -> typer.Typer:
    """``event-importer <integration> submit-url URL``: one event to ``integration``, through its queue."""
    app = typer.Typer(help=f"{title}: submit events by URL.", no_args_is_help=True)

    @app.command("submit-url", help=f"Submit one event to {title} by its source URL, through its queue.")
    def submit_url(
        ctx: typer.Context,
        url: Annotated[str, typer.Argument(help="The event's source URL.")],
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the exact payload; queue nothing.")] = False,
        force: Annotated[bool, typer.Option("--force", help="Re-deliver even a version already delivered.")] = False,
        stack: StackOption = "local",
        endpoint_url: EndpointOption = None,
        region: RegionOption = None,
    ) -> None:
        host: CommandHost = ctx.obj

        def submit(operations: OperationsPort) -> ReplayReport:
            # Built inside the host's run: a bad URL is then refused like any other bad input.
            request = ReplayRequest(integration=integration, selector="by-url", url=url, dry_run=dry_run, force=force)
            return operations.replay(request)

        def ok(report: ReplayReport) -> bool:
            # Nothing imported from that URL is a failure for a command asked to submit it.
            return report.ok and report.selected == 1

        host.run(submit, stack=stack, endpoint_url=endpoint_url, region=region, ok=ok)

    return app
