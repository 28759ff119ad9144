"""A stand-in for TicketFairy's draft-events API on loopback, for the demo and end-to-end tests.

``DraftEventsDestination`` is a real HTTP server (stdlib only) on
``127.0.0.1`` and a free port.  It answers like the draft-events endpoint the
``TicketFairyClient`` calls and records every request it receives:

* ``POST /api/draft-events`` with ``Authorization: Bearer <api_key>`` creates
  a draft: ``201 {"data": {"id": "<n>", "type": "draft-events", "attributes": {...}}}``
  echoing the submitted attributes.  A wrong or missing key gets ``401``; a
  body that is not JSON or has no ``data.attributes.title`` gets ``400``.
* ``Idempotency-Key``: a key seen before on a successful create gets the
  stored response again -- same id, status ``201`` and body -- plus an
  ``Idempotent-Replayed: true`` header, and creates nothing.  Only successes
  are stored, so a key whose first attempt failed is processed afresh.
  A replay answers whatever the body: the key names the create, not its content.
* ``PATCH /api/draft-events/<id>`` merges attributes (``200``);
  ``DELETE /api/draft-events/<id>`` removes the draft (``204``); an unknown
  id gets ``404``.

``FaultPlan`` injects failures for fault-injection tests (see its docstring).
Replays of a stored success are never faulted: a real idempotent API answers
a retry of work it has done with that work's result, and the effectively-once
tests depend on exactly that.
"""

from __future__ import annotations

import functools
import hmac
import json
import random
import re
import socket
import struct
import threading
from collections import Counter
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self

__all__ = [
    "DRAFT_EVENTS_PATH",
    "FAULTS_PATH",
    "FAULT_KINDS",
    "LOST_ANSWERS",
    "DraftEventsDestination",
    "FaultPlan",
    "LostAnswer",
    "Outcome",
    "ReceivedRequest",
]

DRAFT_EVENTS_PATH = "/api/draft-events"
#: The stand-in's own control route (``event-importer stand-in break|fix``): GET shows the fault plan,
#: PUT/POST replaces it with the JSON object's ``FaultPlan`` fields, DELETE clears it. Never recorded.
FAULTS_PATH = "/_stand-in/faults"
_CONTROLLABLE = frozenset(
    {"seed", "fail_503", "fail_429", "delay_beyond_timeout", "delay_seconds", "retry_after_seconds"}
)
REDACTED = "[redacted]"
#: Larger bodies are refused (413) instead of read: SQS caps an event at 1 MiB anyway.
MAX_BODY_BYTES = 1024 * 1024
FAULT_KINDS = ("fail_503", "fail_429", "delay_beyond_timeout", "poison")
#: How ``FaultPlan.lost_answers`` spoils the answer to a create that *was* made.
LostAnswer = Literal["timeout", "reset", "no_id_text", "no_id_json"]
LOST_ANSWERS: tuple[LostAnswer, ...] = ("timeout", "reset", "no_id_text", "no_id_json")

Outcome = Literal[
    "created",
    "replayed",
    "updated",
    "deleted",
    "unauthorized",
    "invalid",
    "poison",
    "fail_503",
    "fail_429",
    "not_found",
    "method_not_allowed",
    "too_large",
]

_DRAFT_PATH = re.compile(rf"^{re.escape(DRAFT_EVENTS_PATH)}/(?P<id>[^/]+)$")


@dataclass(frozen=True)
class FaultPlan:
    """Which failures the destination injects, decided per request and reproducible by ``seed``.

    For each authenticated request that is not an idempotent replay, one draw
    from ``random.Random(seed)`` picks at most one of: ``fail_503`` (answer
    503), ``fail_429`` (answer 429 with ``Retry-After: retry_after_seconds``)
    or ``delay_beyond_timeout`` (handle the request normally -- a create
    *does* create the draft -- but hold the answer for ``delay_seconds``, so
    a client with a shorter timeout gives up on work that was done).  The
    probabilities must add up to at most 1.  With concurrent requests the
    sequence of decisions is the same; which request gets which depends on
    arrival order.

    A create or update whose title is in ``poison_titles`` (exact match) is
    always answered ``400 rejected: ...``, whatever the draw.

    ``lost_answers`` maps a title to how the answer to the *first* create with
    that title is lost, after the draft was made and its answer stored for
    replays: ``timeout`` holds it for ``delay_seconds``, ``reset`` drops the
    connection without a word, ``no_id_text`` answers ``200 OK`` in plain text
    and ``no_id_json`` answers ``200 {"ok": true}``.  Later requests are answered
    normally, so a replay of the same ``Idempotency-Key`` learns the id.
    """

    seed: int = 0
    fail_503: float = 0.0
    fail_429: float = 0.0
    delay_beyond_timeout: float = 0.0
    delay_seconds: float = 5.0
    retry_after_seconds: int = 1
    poison_titles: AbstractSet[str] = field(default_factory=frozenset)
    lost_answers: Mapping[str, LostAnswer] = field(default_factory=dict)

    def __post_init__(self) -> None:
        chances = {"fail_503": self.fail_503, "fail_429": self.fail_429, "delay": self.delay_beyond_timeout}
        for name, chance in chances.items():
            if not 0.0 <= chance <= 1.0:
                raise ValueError(f"FaultPlan.{name} must be a probability between 0 and 1, got {chance}")
        if sum(chances.values()) > 1.0:
            raise ValueError("FaultPlan probabilities must add up to at most 1")
        if self.delay_seconds < 0 or self.retry_after_seconds < 0:
            raise ValueError("FaultPlan.delay_seconds and retry_after_seconds must not be negative")
        unknown = set(self.lost_answers.values()) - set(LOST_ANSWERS)
        if unknown:
            raise ValueError(f"FaultPlan.lost_answers: unknown kinds {sorted(unknown)}; use {LOST_ANSWERS}")


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the destination saw it, and how it answered.

    ``headers`` is a copy with the ``Authorization`` value replaced by
    ``"[redacted]"``; ``body`` is the decoded JSON (``None`` if absent or not
    JSON).  ``created`` is true only for a request that made a new draft.
    """

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    status: int
    outcome: Outcome
    received_at: datetime
    draft_id: str | None = None
    fault: str | None = None

    @property
    def created(self) -> bool:
        """Whether this request created a new draft (not a replay)."""
        return self.outcome == "created"


@dataclass(frozen=True)
class _Answer:
    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    text: str | None = None  # sent as text/plain instead of ``body``
    reset: bool = False  # drop the connection instead of answering


def _error(status: int, detail: str, *, pointer: str | None = None) -> _Answer:
    item: dict[str, Any] = {"detail": detail}
    if pointer:
        item["source"] = {"pointer": pointer}
    return _Answer(status, {"errors": [item]})


class DraftEventsDestination:
    """A loopback HTTP server that plays TicketFairy's draft-events API and records what it receives.

    ``start()`` binds ``127.0.0.1`` on a free port and returns the base URL;
    ``stop()`` (idempotent, also on leaving a ``with`` block) stops serving,
    wakes delayed requests, joins every thread and frees the port.  Started
    again, it serves on a new port with its recorded state kept.  Every
    accessor is safe to call from any thread while the server runs.
    """

    def __init__(self, api_key: str, faults: FaultPlan | None = None, *, latency_seconds: float = 0.0) -> None:
        if not api_key:
            raise ValueError("api_key must not be empty")
        if latency_seconds < 0:
            raise ValueError("latency_seconds must not be negative")
        #: Every answer waits this long (a remote API's latency, for benchmarks); delay faults wait longer.
        self.latency_seconds = latency_seconds
        self._expected_auth = f"Bearer {api_key}".encode()
        self._lock = threading.Lock()
        self._lifecycle = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self._received: list[ReceivedRequest] = []
        self._drafts: dict[str, dict[str, Any]] = {}
        self._replies: dict[str, _Answer] = {}
        self._next_id = 1
        self._fault_counts: Counter[str] = Counter()
        self._lost: set[str] = set()  # titles whose create answer was already spoiled
        self.set_faults(faults)

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> str:
        """Serve in a background thread; return the base URL (``http://127.0.0.1:PORT``)."""
        with self._lifecycle:
            if self._server is not None and self._url is not None:
                return self._url
            self._stopping.clear()
            handler = functools.partial(_Handler, destination=self)
            server = _Server(("127.0.0.1", 0), handler)
            port = server.server_address[1]
            # A short poll interval keeps stop() quick; the cost is an idle wake-up every 50 ms.
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"draft-events-destination-{port}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread, self._url = server, thread, f"http://127.0.0.1:{port}"
            return self._url

    def stop(self) -> None:
        """Stop serving, wake delayed requests, join all threads and close the socket. Idempotent."""
        with self._lifecycle:
            server, thread = self._server, self._thread
            if server is None:
                return
            self._stopping.set()
            server.shutdown()
            server.server_close()  # joins the request threads (block_on_close)
            if thread is not None:
                thread.join()
            self._server = self._thread = self._url = None

    @property
    def base_url(self) -> str:
        """The URL ``start()`` returned; ``RuntimeError`` when not running."""
        if self._url is None:
            raise RuntimeError("the destination is not running: call start() first")
        return self._url

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # -- configuration and accessors -------------------------------------------------

    def set_faults(self, faults: FaultPlan | None) -> None:
        """Replace the fault plan (``None``: no faults), restarting its random sequence from its seed."""
        plan = faults or FaultPlan()
        with self._lock:
            self._faults = plan
            self._random = random.Random(plan.seed)  # noqa: S311 - reproducible test faults, not security

    def received(self) -> list[ReceivedRequest]:
        """Every request answered so far, oldest first."""
        with self._lock:
            return list(self._received)

    def accepted_creates(self) -> list[ReceivedRequest]:
        """The requests that created a new draft (replays excluded)."""
        with self._lock:
            return [request for request in self._received if request.created]

    def counters(self) -> dict[str, int]:
        """How many requests ended in each ``Outcome`` (only outcomes that occurred)."""
        with self._lock:
            return dict(Counter(request.outcome for request in self._received))

    def fault_counts(self) -> dict[str, int]:
        """How many faults of each kind in ``FAULT_KINDS`` were injected (zeros included)."""
        with self._lock:
            return {kind: self._fault_counts[kind] for kind in FAULT_KINDS}

    def drafts(self) -> dict[str, dict[str, Any]]:
        """The drafts that exist now: id -> attributes."""
        with self._lock:
            return {draft_id: dict(attributes) for draft_id, attributes in self._drafts.items()}

    # -- request handling (called from the handler threads) --------------------------

    def _handle(self, method: str, path: str, headers: Mapping[str, str], raw: bytes | None) -> _Answer:
        """Decide the answer to one request and record it."""
        if path.split("?", 1)[0] == FAULTS_PATH:
            return self._control(method, raw)
        body = _decode(raw)
        answer, outcome, draft_id, fault = self._decide(method, path, headers, raw, body)
        stored_headers = {
            name: REDACTED if name.lower() == "authorization" else value for name, value in headers.items()
        }
        record = ReceivedRequest(
            method=method,
            path=path,
            headers=stored_headers,
            body=body,
            status=answer.status,
            outcome=outcome,
            received_at=datetime.now(UTC),
            draft_id=draft_id,
            fault=fault,
        )
        with self._lock:
            self._received.append(record)
            if fault:
                self._fault_counts[fault] += 1
        return answer

    def _decide(
        self, method: str, path: str, headers: Mapping[str, str], raw: bytes | None, body: Any
    ) -> tuple[_Answer, Outcome, str | None, str | None]:
        if not self._authorised(headers):
            return _error(401, "invalid API key"), "unauthorized", None, None
        route = path.split("?", 1)[0]
        item = _DRAFT_PATH.match(route)
        if route != DRAFT_EVENTS_PATH and item is None:
            return _error(404, f"no route for {route}"), "not_found", None, None
        allowed = ("POST",) if item is None else ("PATCH", "DELETE")
        if method not in allowed:
            answer = _error(405, f"{method} is not allowed on {route}")
            return _Answer(405, answer.body, {"Allow": ", ".join(allowed)}), "method_not_allowed", None, None
        if raw is None:
            return _error(413, f"request body is larger than {MAX_BODY_BYTES} bytes"), "too_large", None, None

        key = _header(headers, "Idempotency-Key") if item is None else None
        if key:
            with self._lock:
                stored = self._replies.get(key)
            if stored is not None:
                # Checked before any fault: a retry of work that succeeded gets that result.
                return self._replay(stored), "replayed", str(stored.body["data"]["id"]), None

        with self._lock:
            fault = self._draw_fault()
            plan = self._faults
        if fault == "fail_503":
            return _error(503, "service unavailable (injected fault)"), "fail_503", None, fault
        if fault == "fail_429":
            answer = _error(429, "rate limit exceeded (injected fault)")
            retry_after = {"Retry-After": str(plan.retry_after_seconds)}
            return _Answer(429, answer.body, retry_after), "fail_429", None, fault

        if item is None:
            answer, outcome, draft_id, poisoned = self._create(body, raw, key, plan)
        elif method == "PATCH":
            answer, outcome, draft_id, poisoned = self._update(item["id"], body, raw, plan)
        else:
            answer, outcome, draft_id, poisoned = self._delete(item["id"])
        if poisoned:
            return answer, outcome, draft_id, "poison"
        if outcome == "created":
            lost = self._lose_answer(answer, body, plan)
            if lost is not None:
                return lost[0], outcome, draft_id, lost[1]
        if fault == "delay_beyond_timeout":
            return _Answer(answer.status, answer.body, answer.headers, plan.delay_seconds), outcome, draft_id, fault
        return answer, outcome, draft_id, None

    def _control(self, method: str, raw: bytes | None) -> _Answer:
        """The control route's answer: the fault plan after the request (see ``FAULTS_PATH``)."""
        if method == "DELETE":
            self.set_faults(None)
        elif method in ("PUT", "POST"):
            body = _decode(raw)
            if not isinstance(body, dict) or set(body) - _CONTROLLABLE:
                return _error(400, f"expected a JSON object with some of {sorted(_CONTROLLABLE)}")
            try:
                self.set_faults(FaultPlan(**body))
            except (TypeError, ValueError) as exc:
                return _error(400, str(exc))
        elif method != "GET":
            return _error(405, f"{method} is not allowed on {FAULTS_PATH}")
        with self._lock:
            plan = self._faults
        return _Answer(200, {name: getattr(plan, name) for name in sorted(_CONTROLLABLE)})

    def _create(
        self, body: Any, raw: bytes, key: str | None, plan: FaultPlan
    ) -> tuple[_Answer, Outcome, str | None, bool]:
        attributes, problem = _attributes(body, raw, title_required=True)
        if problem is not None:
            return problem, "invalid", None, False
        if attributes.get("title") in plan.poison_titles:
            return _poisoned(attributes["title"]), "poison", None, True
        with self._lock:
            # Checked again under the lock: a concurrent request with the same key may have just succeeded.
            stored = self._replies.get(key) if key else None
            if stored is not None:
                return self._replay(stored), "replayed", str(stored.body["data"]["id"]), False
            draft_id = str(self._next_id)
            self._next_id += 1
            self._drafts[draft_id] = dict(attributes)
            answer = _Answer(201, _resource(draft_id, attributes))
            if key:
                self._replies[key] = answer
        return answer, "created", draft_id, False

    def _update(
        self, draft_id: str, body: Any, raw: bytes, plan: FaultPlan
    ) -> tuple[_Answer, Outcome, str | None, bool]:
        attributes, problem = _attributes(body, raw, title_required=False)
        if problem is not None:
            return problem, "invalid", draft_id, False
        if "title" in attributes and attributes["title"] in plan.poison_titles:
            return _poisoned(attributes["title"]), "poison", draft_id, True
        with self._lock:
            draft = self._drafts.get(draft_id)
            if draft is None:
                return _error(404, f"draft event {draft_id} not found"), "not_found", draft_id, False
            draft.update(attributes)
            answer = _Answer(200, _resource(draft_id, draft))
        return answer, "updated", draft_id, False

    def _delete(self, draft_id: str) -> tuple[_Answer, Outcome, str | None, bool]:
        with self._lock:
            if self._drafts.pop(draft_id, None) is None:
                return _error(404, f"draft event {draft_id} not found"), "not_found", draft_id, False
        return _Answer(204), "deleted", draft_id, False

    def _lose_answer(self, answer: _Answer, body: Any, plan: FaultPlan) -> tuple[_Answer, str] | None:
        """The spoilt answer ``plan.lost_answers`` asks for this create, once per title."""
        title = body["data"]["attributes"]["title"]
        kind = plan.lost_answers.get(title)
        with self._lock:
            if kind is None or title in self._lost:
                return None
            self._lost.add(title)
        spoilt = {
            "timeout": _Answer(answer.status, answer.body, answer.headers, delay=plan.delay_seconds),
            "reset": _Answer(0, reset=True),
            "no_id_text": _Answer(200, text="OK"),
            "no_id_json": _Answer(200, {"ok": True}),
        }[kind]
        return spoilt, f"lost_answer:{kind}"

    def _draw_fault(self) -> str | None:
        """One draw per eligible request, so a seed gives the same sequence of decisions. Call under the lock."""
        plan = self._faults
        if not (plan.fail_503 or plan.fail_429 or plan.delay_beyond_timeout):
            return None
        draw = self._random.random()
        for kind, chance in (
            ("fail_503", plan.fail_503),
            ("fail_429", plan.fail_429),
            ("delay_beyond_timeout", plan.delay_beyond_timeout),
        ):
            if draw < chance:
                return kind
            draw -= chance
        return None

    @staticmethod
    def _replay(stored: _Answer) -> _Answer:
        return _Answer(stored.status, stored.body, {**stored.headers, "Idempotent-Replayed": "true"})

    def _authorised(self, headers: Mapping[str, str]) -> bool:
        given = (_header(headers, "Authorization") or "").encode()
        # Constant-time, as a real API would compare credentials.
        return hmac.compare_digest(given, self._expected_auth)

    def _wait_for_delay(self, seconds: float) -> bool:
        """Sleep for a delay fault; ``True`` if ``stop()`` cut it short."""
        return self._stopping.wait(seconds)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def _decode(raw: bytes | None) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _attributes(body: Any, raw: bytes, *, title_required: bool) -> tuple[dict[str, Any], _Answer | None]:
    """``data.attributes`` of a JSON:API body, or the 400 answer saying what is wrong with it."""
    if body is None:
        detail = "request body is empty" if not raw else "request body is not valid JSON"
        return {}, _error(400, detail)
    data = body.get("data") if isinstance(body, dict) else None
    attributes = data.get("attributes") if isinstance(data, dict) else None
    if not isinstance(attributes, dict):
        return {}, _error(400, "data.attributes must be an object", pointer="/data/attributes")
    title = attributes.get("title")
    if (title_required or "title" in attributes) and not (isinstance(title, str) and title.strip()):
        return {}, _error(400, "title is required", pointer="/data/attributes/title")
    return attributes, None


def _poisoned(title: str) -> _Answer:
    return _error(400, f"rejected: title {title!r} is not accepted by this destination (poison title)")


def _resource(draft_id: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {"data": {"id": draft_id, "type": "draft-events", "attributes": dict(attributes)}}


class _Server(ThreadingHTTPServer):
    # Non-daemon request threads are joined by server_close(), so stop() leaves no thread behind.
    daemon_threads = False
    block_on_close = True
    # socketserver's default backlog is 5: a batch's 10 concurrent connects overflow it, and the
    # kernel drops the extra SYNs, which clients resend only after a second. A real API does not.
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    """HTTP framing only; every decision is ``DraftEventsDestination._handle``'s."""

    # HTTP/1.0 closes each connection after its answer: no idle keep-alive thread can hold up stop().
    protocol_version = "HTTP/1.0"
    # A client that stalls mid-request must not hold a thread (and so stop()) forever.
    timeout = 10

    def __init__(self, *args: Any, destination: DraftEventsDestination) -> None:
        self.destination = destination
        super().__init__(*args)

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the destination records requests itself; a line per request would drown test output."""

    def _serve(self) -> None:
        try:
            raw = self._read_body()
        except ValueError:
            self._send(_error(400, "invalid Content-Length header"))
            return
        answer = self.destination._handle(self.command, self.path, dict(self.headers.items()), raw)
        delay = max(answer.delay, self.destination.latency_seconds)
        if delay and self.destination._wait_for_delay(delay):
            return  # stopping: drop the connection, as a server going away would
        if answer.reset:
            # Linger 0: closing sends RST, so the client sees the connection reset with no answer.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return
        self._send(answer)

    def _read_body(self) -> bytes | None:
        """The request body; ``None`` when it is too large to read."""
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length else b""

    def _send(self, answer: _Answer) -> None:
        if answer.text is not None:
            payload, content_type = answer.text.encode(), "text/plain"
        else:
            payload = b"" if answer.body is None else json.dumps(answer.body).encode()
            content_type = "application/json"
        try:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if payload:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the point of a delay fault): nothing left to tell it
