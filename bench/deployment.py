"""The stack as ``sam deploy`` would stand it up, on a moto server on loopback, for benchmarks over real sockets.

``deployed()`` starts a moto server in a process of its own (as AWS is: a
function never shares an interpreter, or its GIL, with DynamoDB) and the
loopback stand-in for TicketFairy
(optionally answering after a fixed latency), deploys ``template.yaml`` with
``infra.aws.stack.deploy`` and stores the API key where the submit function
looks for it.  The helpers read what the deployment resolved: batch sizes,
each function's environment, and the stream's records.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final, cast

import boto3

from bench.sandbox import ROOT, sealed_environment
from infra.aws.stack import Stack, deploy
from infra.local.server import LOOPBACK, free_port

FANOUT: Final = "FanoutFunction"
SUBMIT: Final = "TicketfairySubmitFunction"
REGION: Final = "us-east-1"
API_KEY: Final = "bench-key"
#: Lambda's reserved variables that change how code behaves: with them Powertools keeps one
#: event loop per execution environment across invocations (so one HTTP pool), as on Lambda.
LAMBDA_RESERVED: Final = {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12", "LAMBDA_TASK_ROOT": str(ROOT)}


@contextmanager
def moto_process(start_timeout: float = 30.0) -> Iterator[str]:
    """A moto server in its own process on 127.0.0.1; yields its endpoint URL."""
    port = free_port()
    endpoint = f"http://{LOOPBACK}:{port}"
    process = subprocess.Popen(  # noqa: S603 - this interpreter, moto's own server module
        [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)],
        env=sealed_environment({"PATH": os.environ.get("PATH", "/usr/bin:/bin")}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2):  # noqa: S310 - loopback
                    break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the moto server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


#: Serves the destination in a process of its own until its stdin closes; prints its base URL.
_DESTINATION: Final = """
import sys
from infra.local.destination import DraftEventsDestination
destination = DraftEventsDestination(sys.argv[1], latency_seconds=float(sys.argv[2]))
print(destination.start(), flush=True)
sys.stdin.read()
destination.stop()
"""


@contextmanager
def destination_process(latency_seconds: float) -> Iterator[str]:
    """The loopback stand-in for TicketFairy in its own process (no GIL shared with the code measured)."""
    process = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", _DESTINATION, API_KEY, str(latency_seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=sealed_environment({"PATH": os.environ.get("PATH", "/usr/bin:/bin")}),
    )
    try:
        base_url = process.stdout.readline().strip() if process.stdout is not None else ""
        if not base_url.startswith("http://"):
            raise RuntimeError("the destination did not start")
        yield base_url
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@contextmanager
def deployed(
    *, latency_seconds: float = 0.0, name: str = "bench", parameters: Mapping[str, str] | None = None
) -> Iterator[tuple[Stack, str, str]]:
    """The stack on a moto server on loopback, TicketFairy's stand-in as its destination.

    Yields (stack, moto endpoint, destination base URL); every answer of the
    destination waits ``latency_seconds``.  Both servers run in processes of
    their own, as AWS and TicketFairy are not in the function's process.
    ``parameters`` are more template parameters (e.g. optional integrations on).
    """
    with destination_process(latency_seconds) as base_url, moto_process() as endpoint:
        with environ(sealed_environment({})):
            stack = deploy(
                name,
                parameters={**(parameters or {}), "TicketfairyBaseUrl": base_url, "LogLevel": "WARN"},
                region=REGION,
                endpoint_url=endpoint,
            )
            parameter = stack.functions[SUBMIT].environment["TICKETFAIRY_API_KEY_PARAMETER"]
            boto3.client("ssm", region_name=REGION, endpoint_url=endpoint).put_parameter(
                Name=parameter, Value=API_KEY, Type="SecureString"
            )
        yield stack, endpoint, base_url


@contextmanager
def environ(env: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` is exactly ``env`` inside the block (a function's environment, in this process)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def batch_size(stack: Stack, function: str) -> int:
    """The batch size of the function's event source mapping, as deployed."""
    (mapping,) = (m for m in stack.event_sources.values() if m["FunctionName"] == stack.functions[function].name)
    return int(mapping["BatchSize"])


def function_env(stack: Stack, function: str, endpoint: str) -> dict[str, str]:
    """The function's environment as deployed, pointed at the moto server."""
    sealed = sealed_environment({**stack.functions[function].environment, "PATH": "/usr/bin:/bin"})
    # After sealing, which drops any endpoint override: this one is the moto server on loopback.
    return {
        **sealed,
        **LAMBDA_RESERVED,
        "AWS_ENDPOINT_URL": endpoint,
        "POWERTOOLS_LOG_LEVEL": "WARN",
        # EMF metrics are JSON lines on stdout: they would drown the report.
        "POWERTOOLS_METRICS_DISABLED": "true",
    }


def stream_records(stack: Stack, endpoint: str, count: int) -> list[dict[str, Any]]:
    """The first ``count`` records of the event cache's stream, from its only shard."""
    streams = boto3.client("dynamodbstreams", region_name=REGION, endpoint_url=endpoint)
    stream_arn = stack.outputs["EventCacheStreamArn"]
    (shard,) = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records: list[dict[str, Any]] = []
    while len(records) < count:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        records += cast("list[dict[str, Any]]", page["Records"])
        iterator = page["NextShardIterator"]
    return records
