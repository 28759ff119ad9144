"""AWS calls per event, stage by stage, against the naive peer's, counted in the same run.

Events go the whole way on in-process moto: import -> stream -> fan-out
handler -> queue -> submit handler -> submission records, in the batch
sizes template.yaml gives the event sources.  Calls are counted through
botocore's events while a stage's code runs; the driver's own calls (what
Lambda's event source mappings do: reading the stream, receiving and
deleting messages) are not counted.  Both functions' wiring is built before
counting, as in a warm container: the submit function's one SSM read per
container is not a per-event cost.
"""

from __future__ import annotations

from typing import Final

import boto3

from bench.naive import NaiveFanout, naive_import
from bench.report import BenchmarkError, BenchmarkResult, Figure, ratio
from bench.sandbox import FANOUT_FUNCTION, REGION, SUBMIT_FUNCTION, AwsCallLog, StageCalls, sample_events, sandbox

NAME: Final = "aws_calls"


def _sqs_calls(stage: StageCalls) -> int:
    return sum(count for operation, count in stage.calls.items() if operation.startswith("SendMessage"))


def _figure(
    figure_id: str,
    subject: str,
    stage: StageCalls,
    naive: StageCalls,
    per: int,
    baseline_label: str,
    note: str = "",
    *,
    sqs_only: bool = False,
) -> Figure:
    value = (_sqs_calls(stage) if sqs_only else stage.total_calls) / per
    baseline = (_sqs_calls(naive) if sqs_only else naive.total_calls) / per
    return Figure(
        id=figure_id,
        subject=subject,
        metric="SQS calls per event" if sqs_only else "AWS calls per event",
        unit="",
        value=value,
        baseline=baseline,
        baseline_label=baseline_label,
        ratio=ratio(value, baseline),
        ratio_label="× naive",
        note="; ".join(part for part in (stage.summary(), f"naive: {naive.summary()}", note) if part),
        details={"events": per, "ours": stage.as_details(), "naive": naive.as_details()},
    )


def run(*, quick: bool = False) -> BenchmarkResult:
    """Import, fan out and submit N events, ours and the naive peer's; AWS calls per event for each stage."""
    count = 25 if quick else 200
    calls = AwsCallLog()
    with sandbox(calls=calls) as stack:
        events = sample_events(count)
        placeholders = stack.fanout_service().placeholders
        stack.submit_worker()
        with calls.recording("import"):
            stack.import_events(events)
        for stream_event in stack.stream_events():
            with calls.recording("fan-out"):
                stack.run_fanout(stream_event)
            # Consume as we go: moto's SQS slows down as a queue fills (DESIGN.md).
            for submit_event in stack.submit_events(stack.receive()):
                stack.acknowledge(submit_event, stack.call_submit(submit_event))
        with calls.recording("re-import"):
            stack.import_events(events)
        if stack.stream_events():
            raise BenchmarkError("re-importing unchanged events wrote to the cache")
        delivered = stack.destination.requests

        # The naive peer, on the same moto and the same tables, with events of its own.
        dynamodb, sqs = boto3.client("dynamodb", region_name=REGION), boto3.client("sqs", region_name=REGION)
        calls.watch(dynamodb.meta.events)
        calls.watch(sqs.meta.events)
        table = stack.environments[FANOUT_FUNCTION]["EVENT_CACHE_TABLE"]
        naive_events = [{**event, "source_url": f"{event['source_url']}/naive"} for event in events]
        with calls.recording("naive import"):
            naive_import(dynamodb, table, naive_events)
        peer = NaiveFanout(sqs, [stack.queue_url])
        for stream_event in stack.stream_events():
            with calls.recording("naive fan-out"):
                peer.handle(stream_event)
            stack.receive()  # keep the queue shallow, as above
        with calls.recording("naive re-import"):
            naive_import(dynamodb, table, naive_events)
        parameters = {
            "events": count,
            "fanout_batch_size": stack.batch_size(FANOUT_FUNCTION),
            "submit_batch_size": stack.batch_size(SUBMIT_FUNCTION),
            # Fan-out files a placeholder per event for each (deployed) integration.
            "integrations_deployed": len(placeholders.services) if placeholders else 0,
        }
    if delivered != count:
        raise BenchmarkError(f"{delivered} of {count} events reached the destination")

    fanout = calls.stages["fan-out"]
    per_call = fanout.entries["SendMessageBatch"] / max(1, fanout.calls["SendMessageBatch"])
    figures = [
        _figure(
            "aws_calls.import_per_event",
            "import (new events)",
            calls.stages["import"],
            calls.stages["naive import"],
            count,
            "naive peer: GetItem + PutItem per event",
        ),
        _figure(
            "aws_calls.reimport_per_event",
            "re-import (unchanged)",
            calls.stages["re-import"],
            calls.stages["naive re-import"],
            count,
            "naive peer: GetItem per event",
        ),
        _figure(
            "aws_calls.fanout_sqs_per_event",
            "fan-out",
            fanout,
            calls.stages["naive fan-out"],
            count,
            "naive peer: BatchProcessor, SendMessage per record",
            note=(
                f"{per_call:.1f} messages per SendMessageBatch (SQS limit 10); besides, one PutItem per event per "
                "integration files it as unsubmitted in the selection index (the naive peer keeps none: its "
                "unsubmitted selector scans the cache)"
            ),
            sqs_only=True,
        ),
    ]
    return BenchmarkResult(NAME, parameters, figures)
