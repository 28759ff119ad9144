"""The local runtime: template.yaml's tables, queues, functions and event sources on one machine.

It provisions what the template declares on a moto server (started on
127.0.0.1, or one given by URL), hosts each function in its own process with
the template's environment, timeout and memory, and runs one event source
per ``Events`` entry with the template's batching and retry settings.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import boto3

from infra.aws.settings import TableSettings
from infra.aws.store import DynamoStore
from infra.local.host import FunctionHost
from infra.local.server import MotoServer
from infra.local.sources import QueueSettings, QueueSource, StreamSettings, StreamSource
from infra.provision import ProvisionedResources, function_environment, provision
from infra.template import EventSource, Function, Template, TemplateError, resolve, target_logical_id

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = ROOT / "template.yaml"
REGION = "us-east-1"
# moto accepts any credentials; these only keep botocore from looking for real ones.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


@dataclass
class RuntimeOptions:
    """How to run the template locally."""

    template: Template | Path = DEFAULT_TEMPLATE
    endpoint_url: str | None = None  # use a running moto server instead of starting one
    stack_name: str = "local"
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    environment_overrides: dict[str, dict[str, str]] = field(default_factory=dict)  # per function logical id
    #: Concurrent executions per SQS source, at most; the template's ScalingConfig may set fewer.
    max_concurrency: int = 2
    #: Fault injection: the share of received messages the queue sources deliver twice.
    duplicate_delivery_rate: float = 0.0
    verbose: bool = False


class LocalRuntime:
    """Runs the whole pipeline locally; use as a context manager or call ``start``/``stop``."""

    def __init__(self, options: RuntimeOptions | None = None) -> None:
        self.options = options or RuntimeOptions()
        template = self.options.template
        self.template = template if isinstance(template, Template) else Template.load(template)
        self._server: MotoServer | None = None
        self.endpoint_url = self.options.endpoint_url or ""
        self._resources: ProvisionedResources | None = None
        self.hosts: dict[str, list[FunctionHost]] = {}
        self.stream_sources: list[StreamSource] = []
        self.queue_sources: list[QueueSource] = []

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> LocalRuntime:
        # Clients made in this process (the CLI's store) need some credentials; moto takes any.
        for name, value in LOCAL_CREDENTIALS.items():
            os.environ.setdefault(name, value)
        try:
            self._start()
        except BaseException:
            self.stop()  # nothing half-started may outlive a failed start
            raise
        logger.info("local runtime up at %s", self.endpoint_url)
        return self

    def _start(self) -> None:
        if not self.endpoint_url:
            self._server = MotoServer(verbose=self.options.verbose)
            self.endpoint_url = self._server.start()
        nested = self.template.resources_of_type("AWS::Serverless::Application") | self.template.resources_of_type(
            "AWS::CloudFormation::Stack"
        )
        if nested:
            raise TemplateError(f"nested stacks are not run locally: {', '.join(sorted(nested))}")
        self._resources = provision(
            self.template,
            dynamodb_client=self.client("dynamodb"),
            sqs_client=self.client("sqs"),
            stack_name=self.options.stack_name,
            parameter_overrides=self.options.parameter_overrides,
        )
        for function in self.template.functions().values():
            for source in function.events.values():
                self._add_source(function, source)
        # Cold starts in parallel: each host imports its handler in its own process.
        starters = [threading.Thread(target=host.start) for hosts in self.hosts.values() for host in hosts]
        for starter in starters:
            starter.start()
        for starter in starters:
            starter.join()
        for thread in [*self.stream_sources, *self.queue_sources]:
            thread.start()

    def stop(self) -> None:
        """Stop pollers, then function hosts, then the moto server (if this runtime started it)."""
        sources = [*self.stream_sources, *self.queue_sources]
        for source in sources:
            source.stop()
        for source in sources:
            if source.is_alive():
                source.join(timeout=60)
        for hosts in self.hosts.values():
            for host in hosts:
                host.stop()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def resources(self) -> ProvisionedResources:
        """What ``start()`` provisioned; ``RuntimeError`` before that."""
        if self._resources is None:
            raise RuntimeError("the local runtime is not started: call start() first")
        return self._resources

    # -- wiring -------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on this runtime's endpoint."""
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def environment(self, logical_id: str) -> dict[str, str]:
        """The function's environment as the template resolves it, pointed at this runtime."""
        env = function_environment(
            self.template, self.resources, logical_id, parameter_overrides=self.options.parameter_overrides
        )
        env.update(LOCAL_CREDENTIALS)
        env.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                # moto answers DynamoDB Streams only at the regional endpoint.
                "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
                "AWS_LAMBDA_FUNCTION_NAME": logical_id,
                # Lambda's reserved variables: with them Powertools keeps one event loop
                # per execution environment across invocations, as it does on Lambda.
                "LAMBDA_TASK_ROOT": str(ROOT),
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.template.function(logical_id).memory_size),
            }
        )
        if not self.options.verbose:
            env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
            # The metrics are JSON lines in the log (EMF): CloudWatch reads them, a terminal should not.
            env["POWERTOOLS_METRICS_DISABLED"] = "true"
        env.update(self.options.environment_overrides.get(logical_id, {}))
        return env

    def update_environment(self, logical_id: str, overrides: Mapping[str, str]) -> None:
        """Change one function's environment overrides; its host restarts with them on next use."""
        self.options.environment_overrides[logical_id] = dict(overrides)
        for host in self.hosts.get(logical_id, []):
            host.reconfigure(self.environment(logical_id))

    def _new_host(self, function: Function) -> FunctionHost:
        host = FunctionHost(
            function.logical_id,
            function.handler,
            self.environment(function.logical_id),
            timeout_seconds=function.timeout,
            memory_mb=function.memory_size,
        )
        self.hosts.setdefault(function.logical_id, []).append(host)
        return host

    def _resolved(self, source: EventSource) -> dict[str, Any]:
        context = self.resources.context(self.template, self.options.parameter_overrides)
        resolved: dict[str, Any] = resolve(dict(source.properties), context)
        return resolved

    def _add_source(self, function: Function, source: EventSource) -> None:
        properties = self._resolved(source)
        if source.type == "SQS":
            queue_id = source.target
            if queue_id is None:
                raise LookupError(f"{function.logical_id}.{source.name} names no queue")
            scaling = int((properties.get("ScalingConfig") or {}).get("MaximumConcurrency", 1000))
            for _ in range(max(1, min(scaling, self.options.max_concurrency))):
                self._add_queue_source(function, queue_id, properties)
        elif source.type == "DynamoDB":
            on_failure = (properties.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
            failure_queue = self._queue_url_for_arn(on_failure) if on_failure else None
            filters = (properties.get("FilterCriteria") or {}).get("Filters", [])
            self.stream_sources.append(
                StreamSource(
                    invoker=self._new_host(function),
                    streams=self.client("dynamodbstreams"),
                    sqs=self.client("sqs"),
                    stream_arn=properties["Stream"],
                    region=REGION,
                    settings=StreamSettings(
                        batch_size=int(properties.get("BatchSize", 100)),
                        batching_window_seconds=float(properties.get("MaximumBatchingWindowInSeconds", 0)),
                        starting_position=str(properties.get("StartingPosition", "TRIM_HORIZON")),
                        bisect_on_error=bool(properties.get("BisectBatchOnFunctionError", False)),
                        maximum_retry_attempts=int(properties.get("MaximumRetryAttempts", -1)),
                        maximum_record_age_seconds=int(properties.get("MaximumRecordAgeInSeconds", -1)),
                        filter_patterns=[json.loads(f["Pattern"]) for f in filters],
                        on_failure_queue_url=failure_queue,
                    ),
                )
            )
        else:
            logger.warning("%s: %s event sources are not run locally", function.logical_id, source.type)

    def _add_queue_source(self, function: Function, queue_id: str, properties: Mapping[str, Any]) -> None:
        self.queue_sources.append(
            QueueSource(
                invoker=self._new_host(function),
                sqs=self.client("sqs"),
                queue_url=self.resources.physical_ids[queue_id],
                queue_arn=properties["Queue"],
                region=REGION,
                settings=QueueSettings(
                    batch_size=int(properties.get("BatchSize", 10)),
                    batching_window_seconds=float(properties.get("MaximumBatchingWindowInSeconds", 0)),
                    duplicate_rate=self.options.duplicate_delivery_rate,
                ),
            )
        )

    def _queue_url_for_arn(self, arn: str) -> str:
        for (logical_id, attribute), value in self.resources.attributes.items():
            if attribute == "Arn" and value == arn:
                return self.resources.physical_ids[logical_id]
        raise LookupError(f"no provisioned queue has ARN {arn}")

    def store(self) -> DynamoStore:
        """The runtime's tables, for operations from this process (imports, queries)."""
        env = self.environment("FanoutFunction" if "FanoutFunction" in self.hosts else next(iter(self.hosts)))
        return DynamoStore(
            TableSettings(
                event_cache_table=env["EVENT_CACHE_TABLE"],
                submissions_table=env["SUBMISSIONS_TABLE"],
                aws_region=REGION,
                aws_endpoint_url=self.endpoint_url,
            )
        )

    def put_secure_parameter(self, template_parameter: str, value: str) -> None:
        """Store ``value`` as the SSM SecureString that ``template_parameter`` names (e.g. an API key)."""
        name = self.template.parameter_values(self.options.parameter_overrides)[template_parameter]
        self.client("ssm").put_parameter(Name=str(name), Value=value, Type="SecureString", Overwrite=True)

    # -- observing ----------------------------------------------------------------

    def queue_url(self, logical_id: str) -> str:
        return self.resources.physical_ids[logical_id]

    def queue_depth(self, queue_url: str) -> int:
        """Visible plus in-flight messages in a queue."""
        sqs: SQSClient = self.client("sqs")
        attributes = sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def consumed_queues(self) -> list[str]:
        return sorted({source.queue_url for source in self.queue_sources})

    def drained(self) -> bool:
        """True when the stream has nothing left to deliver and every consumed queue is empty."""
        if any(not source.idle or source.pending_records for source in self.stream_sources):
            return False
        if any(not source.idle for source in self.queue_sources):
            return False
        return all(self.queue_depth(url) == 0 for url in self.consumed_queues())

    def wait_until_drained(self, timeout: float = 120.0, settle: float = 0.3) -> bool:
        """Block until ``drained()`` holds twice, ``settle`` seconds apart; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.drained():
                time.sleep(settle)
                if self.drained():
                    return True
            time.sleep(0.1)
        return False


def queue_logical_ids(template: Template) -> Mapping[str, str]:
    """Function logical id -> the logical id of the queue its SQS event reads."""
    found = {}
    for function in template.functions().values():
        for source in function.events.values():
            target = target_logical_id(source.properties.get("Queue"))
            if source.type == "SQS" and target:
                found[function.logical_id] = target
    return found
