"""Every expected failure of a command as one line and an exit code: 2 for usage errors, 1 for failures.

Operator mistakes (a missing file, an unknown selector, an option too many)
and expected failures (no credentials, no region, an endpoint that does not
answer, a stack or queue that is not deployed) each say what is wrong and
what to do.  Anything else is a bug, and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

import botocore.exceptions
import httpx
import typer

from infra.interfaces.target import TargetError
from infra.operations import answer_for

USAGE = 2
FAILURE = 1
INTERRUPTED = 130


@dataclass(frozen=True)
class Failure:
    """What to print (one line) and the exit code."""

    message: str
    exit_code: int


def failure_for(exc: BaseException) -> Failure | None:
    """The line and exit code for an expected failure; ``None`` for a bug (let it show its traceback)."""
    if isinstance(exc, typer.TyperException):  # typer's own click: usage errors and the like
        context = getattr(exc, "ctx", None)
        # The command as typed, whatever the program was called (a test runner calls it "root").
        command = " ".join(["event-importer", *context.command_path.split()[1:]]) if context is not None else ""
        hint = f"; see `{command} --help`" if command else ""
        message = exc.format_message().replace("Value error, ", "").replace(".;", ";")
        return Failure(f"{message}{hint}", exc.exit_code)
    if isinstance(exc, KeyboardInterrupt | typer.Abort):
        return Failure("interrupted", INTERRUPTED)
    refusal = answer_for(exc)
    if refusal is not None:
        return Failure(refusal.message, refusal.exit_code)
    if isinstance(exc, TargetError):
        return Failure(str(exc), FAILURE)
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return Failure(
            "no AWS credentials: configure them (aws configure, AWS_PROFILE or --profile) "
            "or start `event-importer local` to use the local runtime",
            FAILURE,
        )
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return Failure("no AWS region: pass --region or set AWS_REGION", FAILURE)
    if isinstance(exc, botocore.exceptions.EndpointConnectionError | botocore.exceptions.ConnectionClosedError):
        endpoint = getattr(exc, "kwargs", {}).get("endpoint_url", "the endpoint")
        return Failure(
            f"cannot reach {endpoint}: is `event-importer local` still running? "
            "(or drop --endpoint-url / AWS_ENDPOINT_URL to use AWS)",
            FAILURE,
        )
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        return Failure(
            f"AWS refused {exc.operation_name}: {error.get('Code', '?')}: {error.get('Message', '')}".rstrip(": "),
            FAILURE,
        )
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return Failure(f"AWS: {exc}", FAILURE)
    if isinstance(exc, httpx.HTTPError):
        return Failure(f"the stand-in destination: {exc}", FAILURE)
    if isinstance(exc, OSError) and exc.filename is not None:
        return Failure(f"cannot read {exc.filename}: {exc.strerror}", FAILURE)
    return None
