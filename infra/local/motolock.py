"""What the local moto server needs to take concurrent writers: one DynamoDB request at a time.

moto's DynamoDB is not thread-safe: a stream record's sequence number is the
shard's length when the write reaches it, so two writes in flight at once can
get the same number (and a stream reader then skips or repeats a record), and
a query can walk a table while another thread changes it.  Lambda-like
concurrency (batched imports, fan-out's placeholders, submit functions in
parallel) does exactly that, so the local server serialises DynamoDB and
DynamoDB Streams requests; SQS (whose long polls wait) stays concurrent.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: ``X-Amz-Target`` prefixes of DynamoDB and DynamoDB Streams (JSON protocol) requests.
SERIALISED_TARGETS = ("DynamoDB_", "DynamoDBStreams_")


class SerialisedDynamoDB:
    """WSGI middleware: DynamoDB requests run one at a time (the whole answer is built under the lock)."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith(SERIALISED_TARGETS):
            return self.app(environ, start_response)
        with self._lock:
            # Drain the body inside the lock: a lazy iterable would run moto's code after release.
            return list(self.app(environ, start_response))


#: One lock for every in-process moto DynamoDB request (``serialise_in_process``).
_IN_PROCESS_LOCK = threading.RLock()


@functools.cache
def serialise_in_process() -> None:
    """The same guarantee for moto in this process (``mock_aws``): one DynamoDB request at a time.

    Tests call the pipeline's concurrent writers (the batched import, fan-out's
    placeholders) against in-process moto, which races exactly as the server does.
    """
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    for handler in (DynamoHandler, DynamoDBStreamsHandler):
        original = handler.call_action

        def call_action(self: Any, _original: Callable[[Any], Any] = original) -> Any:
            with _IN_PROCESS_LOCK:
                return _original(self)

        handler.call_action = call_action  # type: ignore[method-assign]
