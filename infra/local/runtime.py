"""The local runtime: template.yaml deployed on a moto server, its functions and event sources run here.

The template is deployed as ``sam deploy`` would (``infra.aws.stack``:
samtranslator, then moto's CloudFormation) on a moto server on 127.0.0.1 (or
one given by URL). Each function then runs in its own process with the
configuration Lambda reports for it, and each event source mapping of the
translated template is polled here with its own settings.  With
``serve_api``, the function API Gateway invokes is served on loopback by
``infra.local.api.ApiFront``, as the HTTP API would.
"""

from __future__ import annotations

import datetime as dt
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
from infra.aws.stack import TEMPLATE, Function, Stack, deploy
from infra.aws.store import DynamoStore
from infra.local.api import ApiFront, host_invoker
from infra.local.host import FunctionHost
from infra.local.server import MotoServer
from infra.local.sources import QueueSettings, QueueSource, StreamSettings, StreamSource
from infra.local.state import RuntimeState
from integrations.env import LOCAL_RUNTIME_VARIABLE

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
# moto accepts any credentials; these only keep botocore from looking for real ones.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


@dataclass
class RuntimeOptions:
    """How to run the template locally."""

    #: A template file, or a loaded template body (tests change one before deploying it).
    template: Mapping[str, Any] | Path = TEMPLATE
    endpoint_url: str | None = None  # use a running moto server instead of starting one
    stack_name: str = "local"
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    environment_overrides: dict[str, dict[str, str]] = field(default_factory=dict)  # per function logical id
    #: Concurrent executions per SQS source, at most; the mapping's ScalingConfig may set fewer.
    max_concurrency: int = 2
    #: Fault injection: the share of received messages the queue sources deliver twice.
    duplicate_delivery_rate: float = 0.0
    verbose: bool = False
    #: Serve the HTTP API's function on loopback (``LocalRuntime.api_url``); 0 picks a free port.
    serve_api: bool = False
    api_port: int = 0


class LocalRuntime:
    """Runs the whole pipeline locally; use as a context manager or call ``start``/``stop``."""

    def __init__(self, options: RuntimeOptions | None = None) -> None:
        self.options = options or RuntimeOptions()
        self._server: MotoServer | None = None
        self.endpoint_url = self.options.endpoint_url or ""
        self._stack: Stack | None = None
        self.hosts: dict[str, list[FunctionHost]] = {}
        self.stream_sources: list[StreamSource] = []
        self.queue_sources: list[QueueSource] = []
        self._api: ApiFront | None = None

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
        self._stack = deploy(
            self.options.stack_name,
            template=self.options.template,
            parameters=self.options.parameter_overrides,
            region=REGION,
            endpoint_url=self.endpoint_url,
        )
        self._build_selection_indexes()
        for logical_id, function in self._stack.functions.items():
            for mapping in self._stack.mappings_of(logical_id):
                self._add_source(function, mapping)
        # One warm execution environment per function, cold-started in parallel (each imports its handler
        # in its own process), so an import error shows at once; a mapping's further environments start
        # at their first invocation, as Lambda scales out, and a run that never needs them pays nothing.
        self._start_hosts([hosts[0] for hosts in self.hosts.values()])
        for thread in [*self.stream_sources, *self.queue_sources]:
            thread.start()
        if self.options.serve_api:
            self._serve_api()

    def warm(self) -> None:
        """Start every function host now, as provisioned concurrency would (benchmarks measure warm ones)."""
        self._start_hosts([host for hosts in self.hosts.values() for host in hosts if host.pid is None])

    @staticmethod
    def _start_hosts(hosts: list[FunctionHost]) -> None:
        starters = [threading.Thread(target=host.start) for host in hosts]
        for starter in starters:
            starter.start()
        for starter in starters:
            starter.join()

    def _build_selection_indexes(self) -> None:
        """What ``event-importer index build`` does after a first deploy, for every deployed integration."""
        names: set[str] = set()
        for function in self.stack.functions.values():
            if "INTEGRATION_QUEUES" in function.environment:
                names.update(json.loads(function.environment["INTEGRATION_QUEUES"]))
        store = self.store()
        for name in sorted(names):
            store.build_index(name)

    def _serve_api(self) -> None:
        """Serve the function API Gateway invokes (its permission's principal) on loopback."""
        functions = api_functions(self.stack.template)
        if len(functions) != 1:
            raise RuntimeError(f"expected one function behind the HTTP API, found {sorted(functions) or 'none'}")
        host = self._new_host(self.stack.functions[functions[0]])
        host.start()
        self._api = ApiFront(host_invoker(host), port=self.options.api_port)
        self._api.start()

    @property
    def api_url(self) -> str:
        """The loopback URL of the HTTP API (``serve_api``); ``RuntimeError`` when not served."""
        if self._api is None:
            raise RuntimeError("the HTTP API is not served: start the runtime with serve_api")
        return self._api.url

    def stop(self) -> None:
        """Stop pollers, then function hosts, then the moto server (if this runtime started it)."""
        if self._api is not None:
            self._api.stop()
            self._api = None
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
    def stack(self) -> Stack:
        """The stack ``start()`` deployed; ``RuntimeError`` before that."""
        if self._stack is None:
            raise RuntimeError("the local runtime is not started: call start() first")
        return self._stack

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
        """The function's environment as Lambda reports it, pointed at this runtime."""
        function = self.stack.functions[logical_id]
        env = {**function.environment, **LOCAL_CREDENTIALS}
        env.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                # moto answers DynamoDB Streams only at the regional endpoint.
                "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
                "AWS_LAMBDA_FUNCTION_NAME": function.name,
                # Lambda's reserved variables: with them Powertools keeps one event loop
                # per execution environment across invocations, as it does on Lambda.
                "LAMBDA_TASK_ROOT": str(ROOT),
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
                # Destinations may be plain-http loopback servers here (never on AWS).
                LOCAL_RUNTIME_VARIABLE: "1",
            }
        )
        if not self.options.verbose:
            env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
            # The metrics are JSON lines in the log (EMF): CloudWatch reads them, a terminal should not.
            env["POWERTOOLS_METRICS_DISABLED"] = "true"
        env.update(self.options.environment_overrides.get(logical_id, {}))
        return env

    def integrations(self) -> list[str]:
        """The integrations this stack delivers to: the fan-out's queues, less the disabled ones."""
        env = self.environment("FanoutFunction")
        disabled = {name.strip() for name in env.get("DISABLED_INTEGRATIONS", "").split(",") if name.strip()}
        # An empty URL is an optional integration this stack leaves out.
        queues = {name for name, url in json.loads(env["INTEGRATION_QUEUES"]).items() if url}
        return sorted(queues - disabled)

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
            memory_mb=function.memory_mb,
        )
        self.hosts.setdefault(function.logical_id, []).append(host)
        return host

    def _add_source(self, function: Function, mapping: Mapping[str, Any]) -> None:
        """Poll what one event source mapping reads, with its settings (Lambda's defaults where unset)."""
        source_arn = str(mapping["EventSourceArn"])
        if source_arn.startswith("arn:aws:sqs:"):
            scaling = int((mapping.get("ScalingConfig") or {}).get("MaximumConcurrency", 1000))
            for _ in range(max(1, min(scaling, self.options.max_concurrency))):
                self.queue_sources.append(
                    QueueSource(
                        invoker=self._new_host(function),
                        sqs=self.client("sqs"),
                        queue_url=self._queue_url(source_arn),
                        queue_arn=source_arn,
                        region=REGION,
                        settings=QueueSettings(
                            batch_size=int(mapping.get("BatchSize", 10)),
                            batching_window_seconds=float(mapping.get("MaximumBatchingWindowInSeconds", 0)),
                            duplicate_rate=self.options.duplicate_delivery_rate,
                        ),
                    )
                )
        elif ":dynamodb:" in source_arn:
            on_failure = (mapping.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
            filters = (mapping.get("FilterCriteria") or {}).get("Filters", [])
            self.stream_sources.append(
                StreamSource(
                    invoker=self._new_host(function),
                    streams=self.client("dynamodbstreams"),
                    sqs=self.client("sqs"),
                    stream_arn=source_arn,
                    region=REGION,
                    settings=StreamSettings(
                        batch_size=int(mapping.get("BatchSize", 100)),
                        batching_window_seconds=float(mapping.get("MaximumBatchingWindowInSeconds", 0)),
                        starting_position=str(mapping.get("StartingPosition", "TRIM_HORIZON")),
                        bisect_on_error=bool(mapping.get("BisectBatchOnFunctionError", False)),
                        maximum_retry_attempts=int(mapping.get("MaximumRetryAttempts", -1)),
                        maximum_record_age_seconds=int(mapping.get("MaximumRecordAgeInSeconds", -1)),
                        filter_patterns=[json.loads(f["Pattern"]) for f in filters],
                        on_failure_queue_url=self._queue_url(on_failure) if on_failure else None,
                    ),
                )
            )
        else:
            logger.warning("%s: event sources of %s are not run locally", function.logical_id, source_arn)

    def _queue_url(self, arn: str) -> str:
        sqs: SQSClient = self.client("sqs")
        return sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]

    def store(self) -> DynamoStore:
        """The stack's tables (from its outputs), for operations from this process (imports, queries)."""
        outputs = self.stack.outputs
        return DynamoStore(
            TableSettings(
                event_cache_table=outputs["EventCacheTableName"],
                submissions_table=outputs["SubmissionsTableName"],
                aws_region=REGION,
                aws_endpoint_url=self.endpoint_url,
            )
        )

    def state(self, *, destination_url: str | None = None) -> RuntimeState:
        """Where this runtime listens, for its state file (``infra.local.state``)."""
        return RuntimeState(
            pid=os.getpid(),
            endpoint_url=self.endpoint_url,
            region=REGION,
            stack=self.stack.name,
            destination_url=destination_url,
            api_url=self._api.url if self._api is not None else None,
            started_at=dt.datetime.now(dt.UTC),
        )

    def put_secure_parameter(self, template_parameter: str, value: str) -> None:
        """Store ``value`` as the SSM SecureString that the stack parameter ``template_parameter`` names."""
        name = self.stack.parameters[template_parameter]
        self.client("ssm").put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)

    # -- observing ----------------------------------------------------------------

    def queue_url(self, logical_id: str) -> str:
        return self.stack.resources[logical_id]

    def queue_depth(self, queue_url: str) -> int:
        """Visible, in-flight and delayed messages in a queue (a retry behind a live claim is sent delayed)."""
        sqs: SQSClient = self.client("sqs")
        counts: list[QueueAttributeNameType] = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=counts)["Attributes"]
        return sum(int(attributes.get(name, 0)) for name in counts)

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


def api_functions(translated: Mapping[str, Any]) -> list[str]:
    """Logical ids of the functions API Gateway may invoke, read from their invoke permissions."""
    found = set()
    for resource in translated.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::Permission" and properties.get("Principal") == "apigateway.amazonaws.com":
            target = properties.get("FunctionName")
            if isinstance(target, dict) and "Ref" in target:
                found.add(str(target["Ref"]))
    return sorted(found)
