"""The submit worker: SQS messages of one integration -> its submitter.

A batch's records run concurrently (Powertools ``AsyncBatchProcessor``).  A
record succeeds when its event version is recorded as delivered, as a
duplicate, or as permanently failed; it fails (and SQS brings it back after
its visibility timeout) only when a retry may help.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from infra.messages import QueueMessage
from infra.store import DynamoStore
from integrations.base import DEFAULT_LEASE_SECONDS, BaseSubmitter
from integrations.errors import IntegrationError
from integrations.records import CachedEvent, SubmissionStatus, SubmitResult

logger = logging.getLogger(__name__)

# Leave this much of the invocation's time for recording the outcome.
LEASE_SAFETY_MS = 2_000


class BadMessageError(IntegrationError):
    """A queue message that is not a valid ``QueueMessage`` for this worker."""


def parse_message(body: str, service: str) -> QueueMessage:
    """Parse and check one message body; raises ``BadMessageError`` saying what is wrong."""
    try:
        message = QueueMessage.model_validate_json(body)
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

    def __init__(self, submitter: BaseSubmitter, store: DynamoStore) -> None:
        self.submitter = submitter
        self.store = store

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
            logger.error("rejected message %s: %s", record.message_id, exc)
            raise
        event = await self._resolve_event(message)
        if event is None:
            logger.warning("event %s is no longer cached; nothing to submit", message.event_id)
            return SubmitResult(message.event_id, self.service, SubmissionStatus.SKIPPED, detail="event removed")
        result = await self.submitter.submit_event(
            event, change=message.change, lease_seconds=self._lease_seconds(lambda_context)
        )
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
        return result

    async def _resolve_event(self, message: QueueMessage) -> CachedEvent | None:
        inline = message.cached_event()
        if inline is not None:
            return inline
        # Sent by reference (too large to travel inline): read the current version.
        return await asyncio.to_thread(self.store.events.get, message.event_id)

    @staticmethod
    def _lease_seconds(context: LambdaContext | None) -> float:
        if context is None:
            return DEFAULT_LEASE_SECONDS
        remaining_ms = context.get_remaining_time_in_millis() - LEASE_SAFETY_MS
        return max(1.0, remaining_ms / 1000)
