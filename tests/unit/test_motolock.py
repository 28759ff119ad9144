"""The local moto server's request serialisation (no sockets)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from infra.local.motolock import SerialisedDynamoDB


class Recording:
    """A WSGI app that counts how many requests are inside it at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0
        self._guard = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._guard:
            self.inside += 1
            self.most = max(self.most, self.inside)
        time.sleep(0.02)  # long enough for the other threads to arrive while this one is inside
        with self._guard:
            self.inside -= 1
        start_response("200 OK", [])
        return [b"{}"]


def most_at_once(target: str, requests: int = 6) -> int:
    inner = Recording()
    app = SerialisedDynamoDB(inner)
    environ = {"HTTP_X_AMZ_TARGET": target} if target else {}
    threads = [threading.Thread(target=app, args=(dict(environ), lambda *_: None)) for _ in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return inner.most


def test_dynamodb_and_stream_requests_run_one_at_a_time() -> None:
    assert most_at_once("DynamoDB_20120810.PutItem") == 1
    assert most_at_once("DynamoDBStreams_20120810.GetRecords") == 1


def test_other_services_stay_concurrent() -> None:
    # SQS long polls must not hold up everything else: all requests can be inside at once.
    requests = 4
    meeting = threading.Barrier(requests, timeout=30)
    met: list[bool] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        meeting.wait()  # raises BrokenBarrierError if the requests were serialised
        met.append(True)
        return [b"{}"]

    served = SerialisedDynamoDB(app)
    environ = {"HTTP_X_AMZ_TARGET": "AmazonSQS.ReceiveMessage"}
    threads = [threading.Thread(target=served, args=(environ, lambda *_: None)) for _ in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(met) == requests


def test_the_answer_is_built_inside_the_lock() -> None:
    def lazy(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        yield b"built"

    assert SerialisedDynamoDB(lazy)({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.Query"}, lambda *_: None) == [b"built"]
