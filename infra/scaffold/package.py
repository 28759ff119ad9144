"""The files of a new integration's package, its tests and its sample event, as text to fill in.

Placeholders: ``<<name>>`` (``my_service``), ``<<Camel>>`` (``MyService``),
``<<Title>>`` (``My Service``), ``<<PREFIX>>`` (``MY_SERVICE_``).  The
integration they make is complete and tested: it POSTs the EventData as JSON
to ``<base URL>/events`` with a Bearer key, which is what to change first.
"""

from __future__ import annotations

import json

BASE = '''"""<<Title>>: events are sent to <<Title>>'s API (written by ``event-importer integration new``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from integrations.<<name>>.config import <<Camel>>Config
from integrations.base import Integration
from integrations.env import is_local_runtime, load_env_model

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic import BaseModel

    from integrations.base import BaseSubmitter, BaseTransformer
    from integrations.ports import SecretReader, Store


class <<Camel>>Integration(Integration):
    """Submits each event version to <<Title>>."""

    config_model: ClassVar[type[<<Camel>>Config]] = <<Camel>>Config
    # Fill in what the destination can do (BaseClient.update / BaseClient.delete).
    supports_updates: ClassVar[bool] = False
    supports_deletes: ClassVar[bool] = False
    needs_remote_id: ClassVar[bool] = False
    #: The EventData fields the payload uses; ``None``: all of them (every change is sent).
    sent_fields: ClassVar[frozenset[str] | None] = None

    @property
    def name(self) -> str:
        return "<<name>>"

    def load_config(self, environ: Mapping[str, str] | None = None) -> BaseModel:
        """``<<PREFIX>>*`` settings; a plain-http loopback URL is accepted only in the local runtime."""
        context = {"local_runtime": is_local_runtime(environ)}
        return load_env_model(<<Camel>>Config, environ, prefix=self.env_prefix, context=context)

    def create_submitter(self, store: Store, config: BaseModel, secrets: SecretReader) -> BaseSubmitter:
        # Imported here: listing integrations must not load the HTTP client.
        from integrations.<<name>>.submitter import <<Camel>>Submitter

        if not isinstance(config, <<Camel>>Config):
            raise TypeError(f"expected <<Camel>>Config, got {type(config).__name__}")
        return <<Camel>>Submitter.from_config(self, store, config, secrets)

    def create_transformer(self, environ: Mapping[str, str] | None = None) -> BaseTransformer:
        from integrations.<<name>>.transformer import <<Camel>>Transformer

        return <<Camel>>Transformer()
'''

CONFIG = '''"""<<Title>> settings, read from ``<<PREFIX>>*`` environment variables.

The API key comes from exactly one of: the environment itself (fine locally),
an SSM SecureString parameter, or a Secrets Manager secret.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator

from integrations.env import LOOPBACK_HOSTS
from integrations.ports import SecretReader

ENV_PREFIX = "<<PREFIX>>"
_KEY_SOURCES = ("api_key", "api_key_parameter", "api_key_secret")


class <<Camel>>Config(BaseModel):
    """Where <<Title>>'s API is, how to find its key, and how long to wait for it."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    url: str
    api_key: SecretStr | None = None
    api_key_parameter: str | None = None
    api_key_secret: str | None = None
    timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("url")
    @classmethod
    def _https_url(cls, value: str, info: ValidationInfo) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an absolute https URL")
        # The key travels in a header: plain http only to this machine, in the local runtime.
        local = bool((info.context or {}).get("local_runtime"))
        if parts.scheme == "http" and not (local and parts.hostname in LOOPBACK_HOSTS):
            raise ValueError("must use https (plain http only for a loopback address in the local runtime)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _exactly_one_key_source(self) -> <<Camel>>Config:
        # Name the variables, never their values.
        given = [f"{ENV_PREFIX}{name.upper()}" for name in _KEY_SOURCES if getattr(self, name) is not None]
        if len(given) != 1:
            options = ", ".join(f"{ENV_PREFIX}{name.upper()}" for name in _KEY_SOURCES)
            raise ValueError(f"set exactly one of {options}")
        return self

    def resolve_api_key(self, secrets: SecretReader, *, force: bool = False) -> SecretStr:
        """The API key, read through ``secrets``; ``ConfigurationError`` naming the source that failed."""
        return secrets(self.api_key, self.api_key_parameter, self.api_key_secret, force=force)
'''

SELECTORS = '''"""Selectors <<Title>> offers: the standard set (unsubmitted, failed, pending, all, by-url)."""

from __future__ import annotations

from integrations.base import BaseSelector
from integrations.selectors import STANDARD_SELECTORS

SELECTORS: dict[str, type[BaseSelector]] = dict(STANDARD_SELECTORS)
'''

TRANSFORMER = '''"""EventData dict -> <<Title>> payload.

Fill in the destination's shape here.  As written, the payload is
``{"event": <EventData>}``: the cleaned event as it is.
"""

from __future__ import annotations

from typing import Any

from integrations.base import BaseTransformer
from integrations.errors import TransformError


class <<Camel>>Transformer(BaseTransformer):
    """Builds <<Title>>'s payload for one event."""

    def transform(self, event_data: dict[str, Any]) -> dict[str, Any]:
        """Return the payload; ``TransformError`` when the event cannot be sent."""
        if not event_data.get("date"):
            raise TransformError("event has no date: <<Title>> needs one")
        return {"event": dict(event_data)}
'''

CLIENT = '''"""HTTP client for <<Title>>'s API: POST the payload to ``<url>/events``.

Every failure raises: connection errors, timeouts, 5xx, 408 and 429 (with
``Retry-After``) are retryable, a refused key (401/403) is retried with the
key read afresh, any other non-2xx is permanent.  The key is redacted from
every error message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from integrations.base import BODY_PROBLEM_KEY, BaseClient
from integrations.errors import PermanentSubmitError, RetryableSubmitError
from integrations.http import LoopBoundHttp, parse_retry_after
from integrations.redaction import Redactor

EVENTS_PATH = "/events"
DETAIL_LIMIT = 300
KeyProvider = Callable[[bool], SecretStr]


class <<Camel>>Client(BaseClient):
    """Creates events at <<Title>>; pass ``http_client`` to share a pool (or mock a transport)."""

    def __init__(
        self, url: str, api_key: KeyProvider, timeout: float, http_client: httpx.AsyncClient | None = None
    ) -> None:
        self.url = url.rstrip("/") + EVENTS_PATH
        self.timeout = timeout
        self._key_provider = api_key
        self._redactor = Redactor()
        self._key_refused = False
        self._http = LoopBoundHttp(http_client, timeout=timeout)

    async def submit(self, data: dict[str, Any], *, idempotency_key: str | None = None) -> dict[str, Any]:
        """POST ``data``; return the decoded JSON body. Raises as the module docstring says."""
        key = self._key_provider(self._key_refused)
        self._key_refused = False
        self._redactor.add(key.get_secret_value())
        headers = {"Authorization": f"Bearer {key.get_secret_value()}", "Accept": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._http.get().post(self.url, json=data, headers=headers)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise RetryableSubmitError(f"<<Title>> did not answer within {self.timeout:g}s") from exc
        except httpx.TransportError as exc:
            raise RetryableSubmitError(f"could not reach <<Title>>: {type(exc).__name__}") from exc
        return self._outcome(response)

    def _outcome(self, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        if 200 <= status < 300:
            try:
                body = response.json() if response.content else {}
            except ValueError:
                return {BODY_PROBLEM_KEY: "the body is not JSON"}
            return body if isinstance(body, dict) else {BODY_PROBLEM_KEY: "the body is not a JSON object"}
        detail = self._redactor(" ".join(response.text.split()))[:DETAIL_LIMIT] or response.reason_phrase
        if status in (401, 403):
            self._key_refused = True
            raise RetryableSubmitError(f"<<Title>> refused the API key (HTTP {status})", status_code=status)
        if status in (408, 429) or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            message = f"<<Title>> is unavailable (HTTP {status}): {detail}"
            raise RetryableSubmitError(message, status_code=status, retry_after=retry_after)
        raise PermanentSubmitError(f"<<Title>> rejected the event (HTTP {status}): {detail}", status_code=status)

    def redact(self, text: str) -> str:
        return self._redactor(text)

    async def aclose(self) -> None:
        await self._http.aclose()
'''

SUBMITTER = '''"""Wires <<Title>>'s transformer, client and selectors into a submitter."""

from __future__ import annotations

import httpx

from integrations.<<name>>.client import <<Camel>>Client
from integrations.<<name>>.config import <<Camel>>Config
from integrations.<<name>>.selectors import SELECTORS
from integrations.<<name>>.transformer import <<Camel>>Transformer
from integrations.base import BaseSubmitter, Integration
from integrations.ports import SecretReader, Store


class <<Camel>>Submitter(BaseSubmitter):
    """The standard submit workflow with <<Title>>'s parts."""

    @classmethod
    def from_config(
        cls,
        integration: Integration,
        store: Store,
        config: <<Camel>>Config,
        secrets: SecretReader,
        *,
        http_client: httpx.AsyncClient | None = None,
    ) -> <<Camel>>Submitter:
        # Read once now, so a misconfigured key fails the cold start.
        config.resolve_api_key(secrets)
        client = <<Camel>>Client(
            config.url,
            api_key=lambda force: config.resolve_api_key(secrets, force=force),
            timeout=config.timeout_seconds,
            http_client=http_client,
        )
        return cls(
            integration=integration,
            store=store,
            transformer=<<Camel>>Transformer(),
            client=client,
            selectors=SELECTORS,
        )
'''

CLI = '''"""<<Title>>'s commands, under ``event-importer <<name>>``."""

from __future__ import annotations

from integrations.front_doors.cli import submit_url_app

app = submit_url_app("<<name>>", "<<Title>>")
'''

ROUTES = '''"""<<Title>>'s HTTP routes, mounted by the API under ``/integrations/<<name>>``."""

from __future__ import annotations

from integrations.front_doors.routes import submit_by_url_router

router = submit_by_url_router("<<name>>", "<<Title>>")
'''

MCP_TOOLS = '''"""<<Title>>'s MCP tools, added to the MCP server's core tools."""

from __future__ import annotations

from typing import Any

from integrations.front_doors.mcp import ToolHandler, submit_url_tool

_SUBMIT_URL, _HANDLERS = submit_url_tool(
    "<<name>>", "Submit one cached event to <<Title>> by its source URL, through its queue (dry_run: send nothing)."
)
TOOLS: list[dict[str, Any]] = [_SUBMIT_URL]
TOOL_HANDLERS: dict[str, ToolHandler] = _HANDLERS
'''

TEST_TRANSFORMER = '''"""<<Title>> transformer (written by ``event-importer integration new``: extend it)."""

from __future__ import annotations

import json

import pytest

from integrations.<<name>>.transformer import <<Camel>>Transformer
from integrations.errors import TransformError
from integrations.event_data import EventData


def test_the_payload_carries_the_event_and_is_json() -> None:
    data = EventData.model_validate({"title": "Night", "date": "2026-05-01", "source_url": "https://e.x/1"})

    payload = <<Camel>>Transformer().transform(data.model_dump(mode="json"))

    assert payload["event"]["title"] == "Night"
    json.dumps(payload)


def test_an_event_without_a_date_is_refused() -> None:
    with pytest.raises(TransformError, match="no date"):
        <<Camel>>Transformer().transform({"title": "Night", "date": None})
'''

TEST_CLIENT = '''"""<<Title>> client: each answer mapped to its outcome (written by ``integration new``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import respx
from pydantic import SecretStr

from integrations.<<name>>.client import <<Camel>>Client
from integrations.errors import PermanentSubmitError, RetryableSubmitError

URL = "https://<<name>>.example.test"
KEY = "<<name>>-key-never-logged-1234"


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True) as router:
        yield router


def submit(client: <<Camel>>Client) -> dict[str, object]:
    async def go() -> dict[str, object]:
        try:
            return await client.submit({"event": {"title": "x"}}, idempotency_key="k1")
        finally:
            await client.aclose()

    return asyncio.run(go())


def client() -> <<Camel>>Client:
    return <<Camel>>Client(URL, api_key=lambda force: SecretStr(KEY), timeout=5)


def test_a_2xx_returns_the_body_and_sends_the_key_and_idempotency_key(api: respx.MockRouter) -> None:
    route = api.post(f"{URL}/events").mock(return_value=httpx.Response(201, json={"id": "7"}))

    assert submit(client()) == {"id": "7"}
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["Idempotency-Key"] == "k1"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (httpx.Response(503), RetryableSubmitError),
        (httpx.Response(429, headers={"Retry-After": "9"}), RetryableSubmitError),
        (httpx.Response(401), RetryableSubmitError),
        (httpx.Response(422, text=f"bad event {KEY}"), PermanentSubmitError),
    ],
)
def test_each_failure_maps_to_its_outcome_without_the_key(
    api: respx.MockRouter, answer: httpx.Response, expected: type[Exception]
) -> None:
    api.post(f"{URL}/events").mock(return_value=answer)

    with pytest.raises(expected) as raised:
        submit(client())
    assert KEY not in str(raised.value)
    if answer.status_code == 429:
        assert getattr(raised.value, "retry_after", None) == 9.0


def test_no_connection_is_retried(api: respx.MockRouter) -> None:
    api.post(f"{URL}/events").mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(RetryableSubmitError, match="could not reach"):
        submit(client())
'''


DESTINATION = '''"""<<Title>>'s contract destination (``tests/integration/test_contract.py``): its API under respx."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from infra.aws.secrets import resolve_secret
from integrations.<<name>>.config import <<Camel>>Config
from integrations.base import BaseSubmitter
from integrations.ports import Store
from integrations.registry import get_integration
from tests.scripted_destination import CallKind, HttpScriptedDestination

URL = "https://<<name>>.contract.test"
KEY = "<<name>>-contract-key-never-shown-1234"


def _kind(request: httpx.Request) -> CallKind:
    # Only creates until the client sends updates and deletes (supports_updates / supports_deletes).
    return "create"


def _build(store: Store) -> BaseSubmitter:
    config = <<Camel>>Config(url=URL, api_key=SecretStr(KEY), timeout_seconds=2)
    return get_integration("<<name>>").create_submitter(store, config, resolve_secret)


def contract_destination() -> HttpScriptedDestination:
    return HttpScriptedDestination(
        url_pattern=rf"^{URL}/events$",
        secrets=[KEY],
        build=_build,
        kind_of=_kind,
        ok_body=lambda request, n: {"id": str(n)},
    )
'''


def sample_message(name: str) -> dict[str, object]:
    """The submit function's sample SQS event (``events/<Camel>SubmitFunction/sqs-message.json``)."""
    body = {
        "schema_version": 1,
        "event_id": "82d7b8c009015a8025eb888e23c37cb0",
        "service": name,
        "data_hash": "7fd6bc72d84a68584213ad3d92ef8ea1575b3eadb278723258263c249e750d86",
        "version": 1,
        "change": "created",
        "event": {
            "title": "Warehouse Techno Night",
            "venue": "Tresor",
            "date": "2026-07-11",
            "time": {"start": "23:00", "end": "06:00", "timezone": "Europe/Berlin"},
            "source_url": "https://source.example.com/events/warehouse-techno",
        },
        "changed_at": "2026-06-01T10:00:00Z",
    }
    record = {
        "messageId": "1f0c2b4e-0000-4000-8000-000000000001",
        "receiptHandle": "AQEBsample",
        "body": json.dumps(body, separators=(",", ":")),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1780308000000",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1780308000100",
        },
        "messageAttributes": {},
        "md5OfBody": "00000000000000000000000000000000",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:event-importer-{name}",
        "awsRegion": "us-east-1",
    }
    return {"Records": [record]}
