"""Memory per invocation: the peak RSS of a fresh process that imports a handler and runs one full batch.

This is what Lambda's memory setting has to hold: the interpreter, every
module the handler imports, its clients, and one batch of the event source's
size (100 stream records for fan-out, 10 messages for submit). Each function
runs in its own process against a moto server and the loopback stand-in for
TicketFairy, over real sockets, with the environment the deployed stack gives
it. The baseline, measured the same way in the same run, is a process that
only runs ``import boto3``: the floor every function pays. Each figure is the
median of several processes.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, cast

import boto3

from bench.deployment import FANOUT, REGION, SUBMIT, batch_size, deployed, environ, function_env, stream_records
from bench.report import BenchmarkError, BenchmarkResult, Figure, ratio
from bench.sandbox import ROOT, sample_events, sealed_environment
from infra.aws.settings import TableSettings
from infra.aws.store import DynamoStore
from infra.local.eventsources import sqs_event, stream_event
from infra.pipeline.importer import import_events
from integrations.env import load_env_model

NAME: Final = "memory"
MIB: Final = 1024 * 1024

# The peak RSS of this process since exec: VmHWM belongs to the address space, which exec replaces.
# (getrusage's ru_maxrss survives exec, so a child would report its big parent's peak.)
_PEAK = """
def peak_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise SystemExit("no VmHWM in /proc/self/status: this benchmark needs Linux")
"""
#: Run in a fresh interpreter: import the handler, run one batch, report the peak RSS.
CHILD: Final = (
    _PEAK
    + """
import json, sys
module = __import__(sys.argv[1], fromlist=["handler"])
from infra.local.eventsources import LocalContext
event = json.loads(open(sys.argv[2]).read())
response = module.handler(event, LocalContext(sys.argv[3]))
print("RESULT " + json.dumps({"rss_kib": peak_kib(), "failures": len(response["batchItemFailures"])}))
"""
)
BASELINE: Final = (
    _PEAK
    + """
import json, boto3
print("RESULT " + json.dumps({"rss_kib": peak_kib(), "failures": 0}))
"""
)


def peak_rss(code: str, *args: str, env: Mapping[str, str]) -> int:
    """Peak RSS in bytes of one fresh process running ``code``; raises when it fails or reports failures."""
    result = subprocess.run(  # noqa: S603 - this interpreter, code of this module
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=dict(env), cwd=ROOT, check=False
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode != 0 or not lines:
        raise BenchmarkError(f"the measured process failed: {result.stderr[-2000:]}")
    report = json.loads(lines[-1].removeprefix("RESULT "))
    if report["failures"]:
        raise BenchmarkError(f"{report['failures']} records of the measured batch failed: {result.stderr[-2000:]}")
    return int(report["rss_kib"]) * 1024


def run(*, quick: bool = False) -> BenchmarkResult:
    """Peak RSS of a fan-out process on a full stream batch and a submit process on a full SQS batch."""
    runs = 1 if quick else 3
    with deployed() as (stack, endpoint, _), tempfile.TemporaryDirectory() as scratch, environ(sealed_environment({})):
        fanout_records, submit_messages = batch_size(stack, FANOUT), batch_size(stack, SUBMIT)
        fanout_env = function_env(stack, FANOUT, endpoint)
        submit_env = function_env(stack, SUBMIT, endpoint)
        store = DynamoStore(load_env_model(TableSettings, {**fanout_env}))
        events = sample_events(fanout_records * runs)
        import_events(store.events, ((f"item {i}", e) for i, e in enumerate(events, 1)))

        sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
        stream_arn = stack.outputs["EventCacheStreamArn"]
        records = stream_records(stack, endpoint, fanout_records * runs)

        fanout, submit, baseline = [], [], []
        queue_url = stack.functions[SUBMIT].environment["QUEUE_URL"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for index in range(runs):
            batch = records[index * fanout_records : (index + 1) * fanout_records]
            event_file = Path(scratch) / f"fanout-{index}.json"
            event_file.write_text(json.dumps(stream_event(batch, stream_arn=stream_arn, region=REGION), default=str))
            fanout.append(peak_rss(CHILD, "functions.fanout.app", str(event_file), FANOUT, env=fanout_env))

            messages: list[dict[str, Any]] = []
            while len(messages) < submit_messages:
                received = sqs.receive_message(
                    QueueUrl=queue_url, MaxNumberOfMessages=submit_messages - len(messages), AttributeNames=["All"]
                )
                messages += cast("list[dict[str, Any]]", received.get("Messages", []))
            event_file = Path(scratch) / f"submit-{index}.json"
            event_file.write_text(json.dumps(sqs_event(messages, queue_arn=queue_arn, region=REGION)))
            submit.append(peak_rss(CHILD, "functions.submit.app", str(event_file), SUBMIT, env=submit_env))
            baseline.append(peak_rss(BASELINE, env=submit_env))

    floor = statistics.median(baseline)
    figures = [
        _figure("memory.fanout_rss_mb", FANOUT, f"peak RSS, {fanout_records} stream records", fanout, floor),
        _figure("memory.submit_rss_mb", SUBMIT, f"peak RSS, {submit_messages} messages", submit, floor),
    ]
    return BenchmarkResult(
        NAME, {"fanout_records": fanout_records, "submit_messages": submit_messages, "runs": runs}, figures
    )


def _figure(figure_id: str, subject: str, metric: str, samples: list[int], floor: float) -> Figure:
    value = statistics.median(samples)
    return Figure(
        id=figure_id,
        subject=subject,
        metric=metric,
        unit="MiB",
        value=value / MIB,
        baseline=floor / MIB,
        baseline_label="a process that imports boto3",
        ratio=ratio(value, floor),
        ratio_label="× boto3",
        note=f"median of {len(samples)} processes; Lambda memory 128 MB",
        details={"samples_bytes": samples, "baseline_bytes": floor},
    )
