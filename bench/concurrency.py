"""Concurrency inside one SQS batch: a slow destination, the batch against one-at-a-time.

The destination (respx) answers after ``delay`` seconds.  The baseline runs
the submit worker's own per-record handler on one batch's worth of messages,
awaiting each before the next, through the same worker, client and moto
tables; then the submit handler gets a full batch of other messages.  A
warm-up invocation first pays the one-time costs (wiring, the time-zone
database, the HTTP client) so neither side carries them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from bench.report import BenchmarkError, BenchmarkResult, Figure, ratio
from bench.sandbox import SUBMIT_FUNCTION, Destination, sample_events, sandbox
from infra.pipeline.worker import SubmitWorker

NAME: Final = "concurrency"


async def _one_by_one(worker: SubmitWorker, records: Sequence[Mapping[str, Any]]) -> None:
    for record in records:
        await worker.handle_record(SQSRecord(dict(record)))


def run(*, quick: bool = False) -> BenchmarkResult:
    """Wall time of one batch against the same work done one record at a time; peak in flight."""
    delay = 0.02 if quick else 0.1
    destination = Destination(delay)
    with sandbox(destination=destination) as stack:
        size = stack.batch_size(SUBMIT_FUNCTION)
        stack.import_events(sample_events(1 + 2 * size))
        for stream_event in stack.stream_events():
            stack.run_fanout(stream_event)
        messages = stack.receive()
        if len(messages) != 1 + 2 * size:
            raise BenchmarkError(f"expected {1 + 2 * size} queued messages, found {len(messages)}")
        warm_up, sequential, batch = stack.submit_events([messages[0]]) + stack.submit_events(messages[1:])
        stack.run_submit(warm_up)
        worker = stack.submit_worker()

        destination.reset()
        started = time.perf_counter()
        asyncio.run(_one_by_one(worker, sequential["Records"]))
        sequential_seconds = time.perf_counter() - started
        sequential_peak = destination.peak_in_flight

        destination.reset()
        started = time.perf_counter()
        response = stack.call_submit(batch)
        batch_seconds = time.perf_counter() - started
        batch_peak = destination.peak_in_flight
        stack.acknowledge(batch, response)
        if destination.requests != size:
            raise BenchmarkError(f"the batch made {destination.requests} requests for {size} messages")

    timing = {
        "delay_seconds": delay,
        "batch_size": size,
        "sequential_floor_seconds": size * delay,
        "concurrent_floor_seconds": delay,
        "batch_seconds": round(batch_seconds, 4),
        "sequential_seconds": round(sequential_seconds, 4),
    }
    figures = [
        Figure(
            subject=f"submit batch of {size}",
            metric=f"wall time, destination {delay * 1000:g} ms",
            unit="s",
            value=batch_seconds,
            baseline=sequential_seconds,
            baseline_label="one record at a time",
            ratio=ratio(sequential_seconds, batch_seconds),
            ratio_label="× faster",
            note=f"floors: {delay:g} s all at once, {size * delay:g} s one at a time",
            details=timing,
        ),
        Figure(
            subject=f"submit batch of {size}",
            metric="peak requests in flight",
            unit="",
            value=batch_peak,
            baseline=sequential_peak,
            baseline_label="one record at a time",
            ratio=ratio(batch_peak, sequential_peak),
            ratio_label="×",
            note=f"at most {size}: the batch size",
            details={"batch_peak": batch_peak, "sequential_peak": sequential_peak},
        ),
    ]
    return BenchmarkResult(NAME, {"delay_seconds": delay, "batch_size": size}, figures)
