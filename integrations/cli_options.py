"""The target options every integration's commands take (``event-importer <integration> ...``).

One definition, so that each integration's commands find their deployment as the
core commands do: a running local runtime outranks the usual AWS configuration,
so ``AWS_REGION`` is not read as an explicit ``--region``. Imported by the
integrations' ``cli.py`` only (typer is not in any function's artifact).
"""

from __future__ import annotations

from typing import Annotated

import typer

StackOption = Annotated[str, typer.Option("--stack", envvar="EVENT_IMPORTER_STACK", help="Stack name.")]
EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url", envvar="AWS_ENDPOINT_URL", help="AWS endpoint (default: the running local runtime's)."
    ),
]
# No envvar: AWS_REGION is the usual AWS configuration, which a running local runtime outranks.
RegionOption = Annotated[str | None, typer.Option("--region", help="AWS region (targets AWS).")]
