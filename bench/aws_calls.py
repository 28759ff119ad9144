"""AWS calls per event, stage by stage, against the naive one-call-per-item baselines.

Events go the whole way on in-process moto: import -> stream -> fan-out
handler -> queue -> submit handler -> submission records, in the batch
sizes template.yaml gives the event sources.  Calls are counted through
botocore's events while a stage's code runs; the driver's own calls (what
Lambda's event source mappings do: reading the stream, receiving and
deleting messages) are not counted.  The submit function's wiring is built
before counting, as in a warm container: its one SSM read per container is
not a per-event cost.
"""

from __future__ import annotations

from typing import Final

from bench.report import BenchmarkError, BenchmarkResult, Figure, ratio
from bench.sandbox import FANOUT_FUNCTION, SUBMIT_FUNCTION, AwsCallLog, StageCalls, sample_events, sandbox

NAME: Final = "aws_calls"
#: One GetItem to compare the stored hash, one PutItem to write the event.
NAIVE_IMPORT_CALLS: Final = 2.0
#: Unchanged content: the GetItem alone.
NAIVE_REIMPORT_CALLS: Final = 1.0
#: Read the event from the cache, read its record, write the claim, write the outcome.
NAIVE_SUBMIT_CALLS: Final = 4.0
#: What the delivery contract cannot do without: a conditional claim write and an outcome write.
SUBMIT_FLOOR_CALLS: Final = 2


def _figure(
    subject: str, stage: StageCalls, per: int, per_label: str, baseline: float, baseline_label: str, note: str = ""
) -> Figure:
    value = stage.total_calls / per
    return Figure(
        subject=subject,
        metric=f"AWS calls per {per_label}",
        unit="",
        value=value,
        baseline=baseline,
        baseline_label=baseline_label,
        ratio=ratio(value, baseline),
        ratio_label="× naive",
        note="; ".join(part for part in (stage.summary(), note) if part),
        details={per_label + "s": per, **stage.as_details()},
    )


def run(*, quick: bool = False) -> BenchmarkResult:
    """Import, fan out and submit N events; AWS calls per event for each stage."""
    count = 25 if quick else 200
    calls = AwsCallLog()
    with sandbox(calls=calls) as stack:
        events = sample_events(count)
        stack.submit_worker()
        with calls.recording("import"):
            stack.import_events(events)
        for stream_event in stack.stream_events():
            with calls.recording("fan-out"):
                stack.run_fanout(stream_event)
            # Consume as we go: moto's SQS slows down as a queue fills (DESIGN.md).
            for submit_event in stack.submit_events(stack.receive()):
                with calls.recording("submit"):
                    response = stack.call_submit(submit_event)
                stack.acknowledge(submit_event, response)
        with calls.recording("re-import"):
            stack.import_events(events)
        if stack.stream_events():
            raise BenchmarkError("re-importing unchanged events wrote to the cache")
        delivered = stack.destination.requests
        parameters = {
            "events": count,
            "fanout_batch_size": stack.batch_size(FANOUT_FUNCTION),
            "submit_batch_size": stack.batch_size(SUBMIT_FUNCTION),
        }
    if delivered != count:
        raise BenchmarkError(f"{delivered} of {count} events reached the destination")

    fanout = calls.stages["fan-out"]
    messages = fanout.entries["SendMessageBatch"] + fanout.calls["SendMessage"]
    per_call = fanout.entries["SendMessageBatch"] / max(1, fanout.calls["SendMessageBatch"])
    figures = [
        _figure(
            "import (new events)",
            calls.stages["import"],
            count,
            "event",
            NAIVE_IMPORT_CALLS,
            "naive: GetItem + PutItem",
        ),
        _figure(
            "re-import (unchanged)",
            calls.stages["re-import"],
            count,
            "event",
            NAIVE_REIMPORT_CALLS,
            "naive: GetItem",
        ),
        _figure(
            "fan-out",
            fanout,
            count,
            "event",
            ratio(messages, count),
            "naive: SendMessage per message",
            note=f"{per_call:.1f} messages per SendMessageBatch (SQS limit 10)",
        ),
        _figure(
            "submit",
            calls.stages["submit"],
            delivered,
            "message",
            NAIVE_SUBMIT_CALLS,
            "naive: 2 reads + 2 writes",
            note=f"floor {SUBMIT_FLOOR_CALLS}: claim + outcome writes",
        ),
    ]
    return BenchmarkResult(NAME, parameters, figures)
