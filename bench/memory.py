"""Memory per invocation: tracemalloc's peak during one warm invocation of each function.

Each function is invoked once to warm up (wiring, imports, the time-zone
database, clients: what a warm container already holds), then traced for a
second invocation of the same size.  The baseline of the same run is the
peak of parsing that invocation's event JSON, which the Lambda runtime does
before any handler code runs.

moto and respx run in this process, so the peak includes their work for
the calls the invocation makes: an upper bound for the function alone.
What is still allocated after the invocation is reported beside it; it is
mostly what they keep (the messages moto queued, the items it stored,
respx's call log), which on AWS lives in SQS and DynamoDB, not in the
function.  tracemalloc sees Python's allocator only: memory that OpenSSL or
pydantic-core allocate natively is not in these figures.
"""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from bench.report import BenchmarkError, BenchmarkResult, Figure, ratio
from bench.sandbox import FANOUT_FUNCTION, SUBMIT_FUNCTION, distinct_sample_count, sample_events, sandbox
from integrations.event_data import event_id_for

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

NAME: Final = "memory"
KIB: Final = 1024


@dataclass(frozen=True)
class Trace:
    """Bytes allocated during one call: the peak, and what was still allocated when it returned."""

    peak: int
    retained: int


def traced(call: Callable[[], object]) -> Trace:
    """Trace the allocations of ``call``; nothing allocated before it counts."""
    gc.collect()
    tracemalloc.start()
    try:
        call()
        retained, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return Trace(peak=peak, retained=retained)


def _figure(subject: str, records: int, invocation: Trace, event: Mapping[str, Any]) -> Figure:
    text = json.dumps(event)
    parse = traced(lambda: json.loads(text))
    return Figure(
        subject=subject,
        metric=f"peak traced memory, {records} records",
        unit="KiB",
        value=invocation.peak / KIB,
        baseline=parse.peak / KIB,
        baseline_label="json.loads of the event",
        ratio=ratio(invocation.peak, parse.peak),
        ratio_label="× parse",
        note=(
            f"event JSON {len(text) / KIB:.0f} KiB; still allocated after: {invocation.retained / KIB:.0f} KiB "
            "(mostly what moto and respx keep)"
        ),
        details={
            "records": records,
            "event_json_bytes": len(text),
            "peak_bytes": invocation.peak,
            "retained_bytes": invocation.retained,
            "baseline_peak_bytes": parse.peak,
        },
    )


def _event_id(message: Mapping[str, Any]) -> str:
    return str(json.loads(message["Body"])["event_id"])


def run(*, quick: bool = False) -> BenchmarkResult:
    """Peak memory of a warm fan-out invocation and a warm submit invocation."""
    with sandbox() as stack:
        fanout_size = 20 if quick else stack.batch_size(FANOUT_FUNCTION)
        submit_size = stack.batch_size(SUBMIT_FUNCTION)
        distinct = distinct_sample_count()
        events = sample_events(max(2 * fanout_size, distinct + submit_size))
        # Copies of samples already submitted in the warm-up: whatever the transformer loads
        # lazily for some events (country tables, the time-zone finder) is loaded by then.
        measured_ids = {event_id_for(event["source_url"]) for event in events[distinct : distinct + submit_size]}
        stack.import_events(events)

        responses: list[PartialItemFailureResponse] = []
        fanout_warm_up, fanout_event, *rest = stack.stream_events(fanout_size)
        stack.run_fanout(fanout_warm_up)
        fanout = traced(lambda: responses.append(stack.call_fanout(fanout_event)))
        if responses[-1]["batchItemFailures"]:
            raise BenchmarkError(f"fan-out failed records: {responses[-1]['batchItemFailures']}")
        for stream_event in rest:
            stack.run_fanout(stream_event)

        messages = stack.receive()
        for warm_up in stack.submit_events([m for m in messages if _event_id(m) not in measured_ids]):
            stack.run_submit(warm_up)
        (submit_event,) = stack.submit_events([m for m in messages if _event_id(m) in measured_ids])
        submit = traced(lambda: responses.append(stack.call_submit(submit_event)))
        stack.acknowledge(submit_event, responses[-1])

    figures = [
        _figure(FANOUT_FUNCTION, fanout_size, fanout, fanout_event),
        _figure(SUBMIT_FUNCTION, submit_size, submit, submit_event),
    ]
    return BenchmarkResult(NAME, {"fanout_records": fanout_size, "submit_records": submit_size}, figures)
