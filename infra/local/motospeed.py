"""Per-request costs of moto that the local server removes, none of which changes an answer.

Profiled under the end-to-end benchmark (``python -m bench --only e2e``), a
moto server spent its time in places that grow with the work rather than
doing it:

* SQS's retention check: for every message a ``ReceiveMessage`` returns,
  moto asks ``get_queue_attributes`` for the retention period, which builds
  every attribute of the queue, three of them (``ApproximateNumberOf…``) by
  walking all its messages, several times over.  A receive cost
  O(batch × queue length): a quarter of the server's CPU with a backlog of a
  few hundred messages.  The check reads the queue's period directly.
* SQS's queue counts: every message sent reads one queue attribute through
  all of them, which counts visible, delayed and in-flight messages by
  asking each message the time (a datetime built per message, twice).
  Sending cost O(backlog) datetimes per message; the counts now read the
  clock once and compare numbers.
* Dispatch: every request lists the methods of its handler class with
  ``inspect.getmembers`` to look the action up, and turns the action's name
  into a method name character by character; a class's methods never
  change, so the list is built once per class and each name converted once.
  SQS converts the names of all a queue's attributes the same way for every
  message it sends (to read one of them).
* Routing: every request lists moto's package directory (one ``stat`` per
  service); the listing never changes while a server runs, so it is read once.
"""

from __future__ import annotations

import functools
from typing import Any

from moto import backends
from moto.core import responses, utils
from moto.sqs import models as sqs_models
from moto.sqs.models import Message, Queue, SQSBackend


@functools.cache
def _moto_modules() -> tuple[str, ...]:
    return tuple(_LIST_MODULES())


_LIST_MODULES = backends.list_of_moto_modules


def cache_module_listing() -> None:
    """Make moto's per-request package listing a lookup (idempotent)."""
    backends.list_of_moto_modules = _moto_modules


def _within_retention(self: SQSBackend, queue_name: str, message: Any) -> bool:
    # moto's own test, without building the queue's attributes: sent_timestamp is in milliseconds.
    period = int(self.get_queue(queue_name).message_retention_period)  # type: ignore[attr-defined]
    return bool(period + message.sent_timestamp / 1000 > utils.unix_time())


# Message.visible and Message.delayed, with the time read once per walk (milliseconds, as moto keeps it).
def _receivable(queue: Queue) -> list[Message]:
    now = utils.unix_time_millis()
    return [m for m in queue._messages if now > m.visible_at and now >= m.delayed_until]


def _delayed(queue: Queue) -> int:
    now = utils.unix_time_millis()
    return sum(1 for m in queue._messages if now < m.delayed_until)


def _in_flight(queue: Queue) -> int:
    now = utils.unix_time_millis()
    return sum(1 for m in queue._messages if now <= m.visible_at)


@functools.cache
def speed_up_moto() -> None:
    """Apply them all (idempotent); the server calls it before it serves."""
    cache_module_listing()
    SQSBackend.is_message_valid_based_on_retention_period = _within_retention  # type: ignore[method-assign]
    Queue.messages = property(_receivable)  # type: ignore[assignment,method-assign]
    Queue.approximate_number_of_messages_delayed = property(_delayed)  # type: ignore[assignment,method-assign]
    Queue.approximate_number_of_messages_not_visible = property(_in_flight)  # type: ignore[assignment,method-assign]
    responses.method_names_from_class = functools.cache(utils.method_names_from_class)  # type: ignore[attr-defined]
    # A pure function of a name; moto calls it with a handful of distinct ones.
    underscored = functools.cache(utils.camelcase_to_underscores)
    responses.camelcase_to_underscores = underscored  # type: ignore[attr-defined]
    sqs_models.camelcase_to_underscores = underscored  # type: ignore[attr-defined]
