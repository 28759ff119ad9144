"""The local runtime's HTTP front for the API function: requests on loopback -> API Gateway v2 events.

API Gateway's HTTP API turns each request into a payload-format-2.0 event
and the function's answer back into a response; locally this small
threaded server does the same, invoking the API function's host (its own
process, with the environment Lambda gives it).  There is no SigV4 check
here: the front listens on 127.0.0.1 only, and the event carries an IAM
caller as API Gateway would after authorising one.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import threading
import uuid
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

logger = logging.getLogger(__name__)

#: Text bodies travel as they are; anything else base64-encoded, as API Gateway does.
TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded", "application/xml")
#: API Gateway's own limit on a request body.
MAX_BODY_BYTES = 10 * 1024 * 1024
LOCAL_CALLER = "arn:aws:iam::123456789012:user/local-operator"


class Invoker(Protocol):
    """Runs one invocation of the API function (``infra.local.host.FunctionHost`` in the runtime)."""

    def __call__(self, event: Mapping[str, Any]) -> Mapping[str, Any]: ...


def http_event(
    method: str,
    path: str,
    *,
    query: str = "",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """The API Gateway HTTP API (payload 2.0) event for one request, IAM-authorised, on the ``$default`` stage."""
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        # Repeated parameters arrive comma-joined, as API Gateway sends them.
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    now = dt.datetime.now(dt.UTC)
    content_type = lowered.get("content-type", "")
    is_text = body is None or content_type.startswith(TEXT_TYPES) or not content_type
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "ANY /{proxy+}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "authorizer": {"iam": {"accountId": "123456789012", "userArn": LOCAL_CALLER, "userId": "LOCAL"}},
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": "ANY /{proxy+}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "pathParameters": {"proxy": path.lstrip("/")},
        "isBase64Encoded": not is_text,
    }
    if parameters:
        event["queryStringParameters"] = parameters
    if body is not None:
        event["body"] = body.decode("utf-8", "replace") if is_text else base64.b64encode(body).decode()
    return event


class ApiFront:
    """A threaded HTTP server on 127.0.0.1 that answers every request through the API function."""

    def __init__(self, invoke: Invoker, *, port: int = 0) -> None:
        self._invoke = invoke
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the API front is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        """Listen on loopback; return the base URL."""
        front = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                front._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer

            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("api %s", format % args)

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="api-front", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(request, 413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}')
            return
        body = request.rfile.read(length) if length else None
        parts = urlsplit(request.path)
        event = http_event(
            request.command,
            parts.path or "/",
            query=parts.query,
            headers=dict(request.headers.items()),
            body=body,
            source_ip=request.client_address[0],
        )
        try:
            answer = self._invoke(event)
        except Exception:
            # What API Gateway answers when the integration fails.
            logger.exception("the API function failed")
            self._send(request, 500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}')
            return
        payload = answer.get("body") or ""
        data = base64.b64decode(payload) if answer.get("isBase64Encoded") else str(payload).encode()
        headers = {str(k).lower(): str(v) for k, v in (answer.get("headers") or {}).items()}
        self._send(request, int(answer.get("statusCode", 200)), headers, data, cookies=answer.get("cookies") or [])

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler,
        status: int,
        headers: Mapping[str, str],
        data: bytes,
        *,
        cookies: list[str] | None = None,
    ) -> None:
        request.send_response(status)
        for name, value in headers.items():
            if name not in ("content-length", "connection", "transfer-encoding"):
                request.send_header(name, value)
        for cookie in cookies or []:
            request.send_header("set-cookie", cookie)
        request.send_header("content-length", str(len(data)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(data)


def host_invoker(host: Any) -> Invoker:
    """An ``Invoker`` over a ``FunctionHost``: a function error becomes an exception (API Gateway's 500)."""

    def invoke(event: Mapping[str, Any]) -> Mapping[str, Any]:
        outcome = host.invoke(event)
        if outcome.failed:
            raise RuntimeError(f"the API function failed: {outcome.error}")
        response = outcome.response
        if not isinstance(response, Mapping):
            raise RuntimeError(f"the API function answered {json.dumps(response)[:200]}, not a response object")
        return response

    return invoke
