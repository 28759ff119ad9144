"""The submit worker: SQS messages of one integration -> its submitter.

A batch's records run concurrently (Powertools ``AsyncBatchProcessor``).  A
record succeeds when its event version is recorded as delivered, as a
duplicate, or as permanently failed; it fails (and SQS brings it back after
its visibility timeout) only when a retry may help.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import math
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from infra.aws.store import DynamoStore
from infra.pipeline.messages import QueueMessage, event_id_in
from infra.pipeline.metrics import Outcome, OutcomeMetrics
from infra.pipeline.retry import QueueControl, RetryPolicy
from integrations.base import DEFAULT_LEASE_SECONDS, BaseSubmitter, ClaimBusyError
from integrations.errors import IntegrationError, RetryableSubmitError
from integrations.records import CachedEvent, ChangeKind, SubmissionStatus, SubmitResult

logger = logging.getLogger(__name__)

# Leave this much of the invocation's time for recording the outcome.
LEASE_SAFETY_MS = 2_000
# A message re-queued this often behind claims that keep being taken (a sandbox that
# crashes on it every time) goes to the DLQ after all, instead of circling for ever.
MAX_REQUEUES = 3


class BadMessageError(IntegrationError):
    """A queue message that is not a valid ``QueueMessage`` for this worker."""


def parse_message(body: str, service: str) -> QueueMessage:
    """Parse and check one message body; raises ``BadMessageError`` saying what is wrong."""
    try:
        # json.loads, not pydantic's parser: it keeps a lone surrogate, so invalid text reaches
        # EventData validation and ends as a failed record that names the field.
        data = json.loads(body)
    except ValueError as exc:
        raise BadMessageError(f"malformed queue message: not valid JSON ({exc})") from exc
    try:
        message = QueueMessage.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise BadMessageError(f"malformed queue message: {problems}") from exc
    if message.service != service:
        raise BadMessageError(f"message for integration {message.service!r} reached the {service!r} worker")
    return message


class SubmitWorker:
    """Handles SQS batches for one integration's submit function."""

    def __init__(
        self,
        submitter: BaseSubmitter,
        store: DynamoStore,
        *,
        queue: QueueControl | None = None,
        retry: RetryPolicy | None = None,
        max_receive_count: int | None = None,
        metrics: OutcomeMetrics | None = None,
    ) -> None:
        self.submitter = submitter
        self.store = store
        self.queue = queue
        self.retry = retry or RetryPolicy()
        self.max_receive_count = max_receive_count
        self.metrics = metrics

    @property
    def service(self) -> str:
        return self.submitter.service_name

    def handle_batch(
        self, event: Mapping[str, Any], context: LambdaContext | None = None
    ) -> PartialItemFailureResponse:
        """Process one SQS event (as Lambda delivers it); return the partial batch response."""
        if not event.get("Records"):
            return {"batchItemFailures": []}
        # One processor per invocation: the local runtime may run invocations in parallel.
        processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        return async_process_partial_response(
            event=dict(event), record_handler=self.handle_record, processor=processor, context=context
        )

    async def handle_record(self, record: SQSRecord, lambda_context: LambdaContext | None = None) -> SubmitResult:
        """Submit the event version one message describes; raise only when a retry may help."""
        try:
            message = parse_message(record.body, self.service)
        except BadMessageError as exc:
            return await self._reject(record, exc)
        receive_count = int(record.attributes.approximate_receive_count or 1)
        final = self.max_receive_count is not None and receive_count >= self.max_receive_count
        try:
            event = await self._resolve_event(message)
            if event is None:
                logger.warning("event %s is no longer cached; nothing to submit", message.event_id)
                return SubmitResult(message.event_id, self.service, SubmissionStatus.SKIPPED, detail="event removed")
            result = await self.submitter.submit_event(
                event,
                change=message.change,
                lease_seconds=self._lease_seconds(lambda_context),
                final_attempt=final,
                attempt=receive_count,
                # An operator asked for this delivery: a rejected version is tried again, and
                # a forced one is sent again even if it was delivered, keyed by the replay.
                retry_failed=message.replay is not None,
                force=message.replay if message.force else None,
            )
        except ClaimBusyError as exc:
            wait = self._until(exc.lease_until)
            if final and self.queue is not None and message.requeues < MAX_REQUEUES:
                # Another worker holds the claim (or crashed holding it): this message must not
                # reach the DLQ for that.  A fresh copy, due when the lease ends, takes its place.
                copy = message.model_copy(update={"requeues": message.requeues + 1})
                await asyncio.to_thread(self.queue.requeue, copy.to_body(), wait)
                logger.info("requeued behind a live claim", extra={"event_id": message.event_id, "delay": wait})
                self._count(Outcome.RETRIED)
                return SubmitResult(message.event_id, self.service, SubmissionStatus.IN_PROGRESS, detail=str(exc))
            await self._postpone(record, wait, message.event_id, exc)
            self._count(Outcome.DEAD_LETTERED if final else Outcome.RETRIED)
            raise
        except RetryableSubmitError as exc:
            if not final:
                await self._postpone(record, self.retry.delay(receive_count, exc.retry_after), message.event_id, exc)
            # On the final attempt SQS's redrive policy moves the message once it is reported failed.
            self._count(Outcome.DEAD_LETTERED if final else Outcome.RETRIED)
            raise
        self._log(result)
        self._count(_outcome_of(result))
        if result.extra.get("endpoint_disabled"):
            self._count(Outcome.ENDPOINT_DISABLED)
        return result

    async def _reject(self, record: SQSRecord, exc: BadMessageError) -> SubmitResult:
        """A message that can never succeed goes straight to the DLQ with its reason, not through N retries."""
        event_id = event_id_in(record.body)
        logger.error(
            "rejected message %s: %s", record.message_id, exc, extra={"event_id": event_id, "service": self.service}
        )
        moved = self.queue is not None and await asyncio.to_thread(self.queue.dead_letter, record.body, str(exc))
        self._count(Outcome.DEAD_LETTERED)
        if not moved:
            raise exc  # no DLQ to move it to: let the queue's redrive policy do it
        return SubmitResult(event_id or "?", self.service, SubmissionStatus.FAILED, error=str(exc))

    async def _postpone(self, record: SQSRecord, seconds: int, event_id: str, exc: Exception) -> None:
        logger.info(
            "retrying in %s s", seconds, extra={"event_id": event_id, "service": self.service, "error": str(exc)}
        )
        if self.queue is not None:
            await asyncio.to_thread(self.queue.postpone, record.receipt_handle, seconds)

    def _count(self, outcome: Outcome) -> None:
        if self.metrics is not None:
            self.metrics.count(outcome)

    @staticmethod
    def _until(moment: dt.datetime | None) -> int:
        if moment is None:
            return 1
        return max(1, math.ceil((moment - dt.datetime.now(dt.UTC)).total_seconds()) + 1)

    @staticmethod
    def _log(result: SubmitResult) -> None:
        log = logger.warning if result.status is SubmissionStatus.FAILED else logger.info
        log(
            "submission %s",
            result.status.value,
            extra={
                "event_id": result.event_id,
                "service": result.service,
                "remote_id": result.remote_id,
                "attempts": result.attempts,
                "error": result.error,
                "detail": result.detail,
            },
        )

    async def _resolve_event(self, message: QueueMessage) -> CachedEvent | None:
        if message.change is ChangeKind.REMOVED:
            # The event is gone from the cache.  The claim needs only its identity and version; the
            # removed content (when it travelled inline) lets a create in doubt be repeated to find its id.
            return CachedEvent(
                message.event_id,
                message.event or {},
                message.data_hash,
                message.version,
                message.changed_at,
                message.incarnation,
            )
        inline = message.cached_event()
        if inline is not None:
            return inline
        # Sent by reference (too large to travel inline): read the latest version, consistently.
        # A newer one (or a newer incarnation) is submitted in its place; an older one cannot be.
        event = await asyncio.to_thread(self.store.events.get, message.event_id, consistent=True)
        if event is not None and (event.incarnation, event.version) != (message.incarnation, message.version):
            same_incarnation = message.incarnation is None or event.incarnation == message.incarnation
            if same_incarnation and event.version < message.version:
                raise RetryableSubmitError(f"event {message.event_id} v{message.version} is not readable yet")
        return event

    @staticmethod
    def _lease_seconds(context: LambdaContext | None) -> float:
        if context is None:
            return DEFAULT_LEASE_SECONDS
        remaining_ms = context.get_remaining_time_in_millis() - LEASE_SAFETY_MS
        return max(1.0, remaining_ms / 1000)


def _outcome_of(result: SubmitResult) -> Outcome:
    """The metric for a record's outcome; a delivery the claim turned away (duplicate, stale) sent nothing."""
    if "claim" in result.extra:
        return Outcome.SKIPPED
    return {
        SubmissionStatus.SUCCESS: Outcome.SUBMITTED,
        SubmissionStatus.FAILED: Outcome.FAILED,
    }.get(result.status, Outcome.SKIPPED)
