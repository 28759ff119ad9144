"""Fault injection inside a local function host, for testing delivery guarantees.

``EVENT_IMPORTER_CHAOS`` (JSON) in a host's environment turns it on:
``{"crash_after_submit": 0.1, "seed": 7}`` kills the host process -- as a
Lambda sandbox dies -- in the window between the destination's answer and
the write of the submission record, in about 10 % of successful submits.
``{"crash_once_for": ["<event id>", ...], "state_dir": "<dir>"}`` does it
exactly once for each listed event (a marker file in ``state_dir``
remembers it across the restarted hosts).
Only the local runtime reads it; deployed code never does.
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra.aws.store import DynamoSubmissionLedger
from integrations.records import SubmissionStatus

CHAOS_VARIABLE = "EVENT_IMPORTER_CHAOS"
CRASH_EXIT_CODE = 70


def install(environ: Mapping[str, str] = os.environ) -> None:
    """Install the faults ``EVENT_IMPORTER_CHAOS`` asks for (nothing when it is unset)."""
    spec = environ.get(CHAOS_VARIABLE)
    if not spec:
        return
    settings = json.loads(spec)
    crash = float(settings.get("crash_after_submit", 0))
    once = frozenset(settings.get("crash_once_for", ()))
    state_dir = Path(settings.get("state_dir", "."))
    if crash <= 0 and not once:
        return
    # Seeded per process, so a restarted host does not replay the same decisions.
    rng = random.Random(f"{settings.get('seed', 0)}:{os.getpid()}")  # noqa: S311 - test faults
    complete = DynamoSubmissionLedger.complete

    def first_time(event_id: str) -> bool:
        try:
            (state_dir / f"crashed-{event_id}").touch(exist_ok=False)
        except FileExistsError:
            return False
        return True

    def crashing_complete(self: DynamoSubmissionLedger, claimed: Any, **kwargs: Any) -> Any:
        if kwargs.get("status") is SubmissionStatus.SUCCESS and (
            (claimed.event_id in once and first_time(claimed.event_id)) or rng.random() < crash
        ):
            sys.stderr.write(f"chaos: host crashed before recording {claimed.event_id}\n")
            sys.stderr.flush()
            os._exit(CRASH_EXIT_CODE)
        return complete(self, claimed, **kwargs)

    DynamoSubmissionLedger.complete = crashing_complete  # type: ignore[method-assign]
