"""Retry timing, applied through the queue: backoff with jitter, and ``Retry-After`` honoured.

A failed message is not slept on inside the function (that bills idle
time); its visibility timeout is set to the delay instead, so SQS hands it
back exactly when the next attempt is due.
"""

from __future__ import annotations

import functools
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)

SQS_MAX_VISIBILITY_SECONDS = 43_200  # 12 hours
SQS_MAX_ATTRIBUTE_CHARS = 1_000
SQS_MAX_DELAY_SECONDS = 900


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with "equal jitter": attempt n waits between half and all of base × 2^(n-1)."""

    base_seconds: float = 30.0
    max_seconds: float = 900.0

    def delay(self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> int:
        """Whole seconds before attempt ``attempt + 1``; at least ``retry_after`` when the destination asked."""
        # The exponent is capped first: 2 ** 1024 does not fit a float.
        ceiling = min(self.max_seconds, self.base_seconds * 2.0 ** min(max(0, attempt - 1), 64))
        # Jitter spreads retries of a failed batch so they do not hit the destination together.
        delay = (rng or random).uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return int(min(self.max_seconds, SQS_MAX_VISIBILITY_SECONDS, math.ceil(delay)))


class QueueControl:
    """The two things a worker does to its own queue: postpone a message, or dead-letter it.

    ``sqs`` is a client, or a function that makes one at the first use: a
    batch that only succeeds never touches its queue, and building an SQS
    client (service model, endpoint rules) is a good part of a cold start.
    """

    def __init__(
        self, sqs: SQSClient | Callable[[], SQSClient], queue_url: str | None, dead_letter_queue_url: str | None
    ) -> None:
        self._sqs = sqs
        self.queue_url = queue_url
        self.dead_letter_queue_url = dead_letter_queue_url

    @functools.cached_property
    def sqs(self) -> SQSClient:
        """The queue's client, made at the first call that needs it."""
        return self._sqs() if callable(self._sqs) else self._sqs

    def postpone(self, receipt_handle: str, seconds: int) -> None:
        """Make the message visible again in ``seconds``; on failure SQS's own timeout still applies."""
        if not self.queue_url:
            return
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except (BotoCoreError, ClientError) as exc:
            logger.warning("could not postpone a message by %s s: %s", seconds, exc)

    def requeue(self, body: str, delay_seconds: int) -> None:
        """Queue a fresh copy of a message (its receive count starts again), due in ``delay_seconds``."""
        if not self.queue_url:
            raise RuntimeError("no queue URL to requeue to")
        self.sqs.send_message(
            QueueUrl=self.queue_url, MessageBody=body, DelaySeconds=min(SQS_MAX_DELAY_SECONDS, delay_seconds)
        )

    def dead_letter(self, body: str, reason: str) -> bool:
        """Send a message that can never succeed straight to the DLQ, with the reason attached."""
        if not self.dead_letter_queue_url:
            return False
        self.sqs.send_message(
            QueueUrl=self.dead_letter_queue_url,
            MessageBody=body,
            MessageAttributes={"error": {"DataType": "String", "StringValue": reason[:SQS_MAX_ATTRIBUTE_CHARS]}},
        )
        return True
