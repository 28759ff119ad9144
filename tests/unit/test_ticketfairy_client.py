"""TicketFairy client: the request it sends and how every kind of answer maps to an outcome."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from infra.aws.secrets import resolve_secret
from integrations.errors import ConfigurationError, PermanentSubmitError, RetryableSubmitError, SubmitError
from integrations.registry import get_integration
from integrations.ticketfairy.client import MAX_BODY_BYTES, TicketFairyClient, parse_retry_after
from integrations.ticketfairy.config import TicketFairyConfig
from integrations.ticketfairy.submitter import TicketFairySubmitter
from integrations.ticketfairy.transformer import TicketFairyTransformer

BASE_URL = "https://tf.example.test"
ENDPOINT = f"{BASE_URL}/api/draft-events"
API_KEY = "tf_live_9f8e7d6c5b4a-never-log-me"
PAYLOAD = {"data": {"attributes": {"title": "Night Shift", "status": "Public"}}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    # assert_all_mocked: any request to an unmocked URL fails instead of touching the network.
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


def make_client(http_client: httpx.AsyncClient | None = None, *, base_url: str = BASE_URL) -> TicketFairyClient:
    return TicketFairyClient(base_url=base_url, api_key=SecretStr(API_KEY), timeout=5.0, http_client=http_client)


async def submit(response: httpx.Response | Exception, **kwargs: Any) -> dict[str, Any]:
    with respx.mock(assert_all_mocked=True) as router:
        router.post(ENDPOINT).mock(side_effect=[response])
        client = make_client()
        try:
            return await client.submit(PAYLOAD, **kwargs)
        finally:
            await client.aclose()


# -- the request ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_posts_json_with_auth_and_idempotency_headers(api: respx.MockRouter) -> None:
    route = api.post(ENDPOINT).respond(201, json={"data": {"id": "evt_1"}})
    client = make_client(base_url=BASE_URL + "/")

    await client.submit(PAYLOAD, idempotency_key="ticketfairy:abc:0123")
    await client.aclose()

    assert route.call_count == 1
    request = route.calls.last.request
    assert str(request.url) == ENDPOINT
    assert request.method == "POST"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Idempotency-Key"] == "ticketfairy:abc:0123"
    assert request.headers["Origin"] == "https://restlessnites.com"  # what the original client sent
    assert json.loads(request.content) == PAYLOAD


@pytest.mark.anyio
async def test_every_request_carries_the_configured_origin(api: respx.MockRouter) -> None:
    routes = [
        api.post(ENDPOINT).respond(201, json={"id": "d1"}),
        api.patch(f"{ENDPOINT}/d1").respond(200, json={"id": "d1"}),
        api.delete(f"{ENDPOINT}/d1").respond(204),
    ]
    client = TicketFairyClient(BASE_URL, SecretStr(API_KEY), timeout=5.0, origin="https://events.example.org")

    await client.submit(PAYLOAD)
    await client.update("d1", PAYLOAD)
    await client.delete("d1")
    await client.aclose()

    assert [route.calls.last.request.headers["Origin"] for route in routes] == ["https://events.example.org"] * 3


def test_status_and_origin_are_settings_with_the_originals_defaults() -> None:
    integration = get_integration("ticketfairy")
    default = integration.load_config({"TICKETFAIRY_API_KEY": "k"})
    custom = integration.load_config(
        {"TICKETFAIRY_API_KEY": "k", "TICKETFAIRY_STATUS": "Private", "TICKETFAIRY_ORIGIN": "https://a.example/"}
    )
    assert isinstance(default, TicketFairyConfig)
    assert isinstance(custom, TicketFairyConfig)

    assert (default.status, default.origin) == ("Public", "https://restlessnites.com")
    assert (custom.status, custom.origin) == ("Private", "https://a.example")
    submitter = TicketFairySubmitter.from_config(integration, None, custom, resolve_secret)  # type: ignore[arg-type]
    assert isinstance(submitter.transformer, TicketFairyTransformer)
    assert isinstance(submitter.client, TicketFairyClient)
    assert (submitter.transformer.status, submitter.client.origin) == ("Private", "https://a.example")


@pytest.mark.parametrize("origin", ["https://a.example/path", "restlessnites.com", "ftp://a.example"])
def test_an_origin_that_is_not_an_origin_is_a_configuration_error(origin: str) -> None:
    with pytest.raises(ConfigurationError, match="TICKETFAIRY_ORIGIN"):
        get_integration("ticketfairy").load_config({"TICKETFAIRY_API_KEY": "k", "TICKETFAIRY_ORIGIN": origin})


@pytest.mark.anyio
async def test_no_idempotency_header_without_a_key(api: respx.MockRouter) -> None:
    route = api.post(ENDPOINT).respond(201, json={"id": 7})
    client = make_client()

    await client.submit(PAYLOAD)
    await client.aclose()

    assert "Idempotency-Key" not in route.calls.last.request.headers


# -- success ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_created_with_an_id_returns_the_body_and_the_remote_id() -> None:
    body = {"data": {"id": "evt_42", "type": "draft-events"}}

    response = await submit(httpx.Response(201, json=body))

    assert response == body
    assert make_client().remote_id(response) == "evt_42"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(200), {}),
        (httpx.Response(204), {}),
        (httpx.Response(200, text="  \n"), {}),
        # The client says why there is no JSON object, and never hands on the raw text.
        (httpx.Response(202, text="accepted, thanks"), {"body_problem": "the body is not JSON"}),
        (httpx.Response(200, json=["a", "b"]), {"body_problem": "the body is a JSON list, not an object"}),
        (httpx.Response(200, text="[" * 100_000), {"body_problem": "the body is larger than 64 KiB and was not read"}),
        (httpx.Response(200, text="[" * 50_000), {"body_problem": "the body is not JSON"}),  # too deep to parse
    ],
)
async def test_a_2xx_is_never_an_error_whatever_the_body(response: httpx.Response, expected: dict[str, Any]) -> None:
    assert await submit(response) == expected


# -- permanent failures -------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("response", "message"),
    [
        (
            httpx.Response(
                400,
                json={"errors": [{"title": "Invalid", "detail": "startDate is required"}, {"title": "Bad venue"}]},
            ),
            "TicketFairy rejected the event (HTTP 400): startDate is required; Bad venue",
        ),
        (
            httpx.Response(
                422,
                json={"errors": [{"detail": "must be a URL", "source": {"pointer": "/data/attributes/url"}}]},
            ),
            "TicketFairy rejected the event (HTTP 422): /data/attributes/url: must be a URL",
        ),
        (
            httpx.Response(422, json={"errors": {"title": ["can't be blank"], "url": ["is invalid"]}}),
            "TicketFairy rejected the event (HTTP 422): title: can't be blank; url: is invalid",
        ),
        (httpx.Response(404, json={"error": "Not Found"}), "(HTTP 404): Not Found"),
        (httpx.Response(409, text="<html><body>Conflict</body></html>"), "(HTTP 409): <html><body>Conflict</body>"),
        (httpx.Response(410), "(HTTP 410): Gone"),
    ],
)
async def test_client_errors_are_permanent_with_the_apis_message(response: httpx.Response, message: str) -> None:
    with pytest.raises(PermanentSubmitError) as caught:
        await submit(response)

    assert not isinstance(caught.value, RetryableSubmitError)
    assert caught.value.status_code == response.status_code
    assert message in str(caught.value)


@pytest.mark.anyio
async def test_long_error_bodies_are_truncated() -> None:
    with pytest.raises(PermanentSubmitError) as caught:
        await submit(httpx.Response(400, text="e" * 5000))

    assert len(str(caught.value)) < 400
    assert str(caught.value).endswith("…")


@pytest.mark.anyio
async def test_redirects_are_not_followed_and_not_successes() -> None:
    response = httpx.Response(301, headers={"Location": "https://elsewhere.example/api/draft-events"})

    with pytest.raises(PermanentSubmitError, match=r"HTTP 301.*elsewhere\.example.*TICKETFAIRY_BASE_URL"):
        await submit(response)


# -- retryable failures ---------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("response", "retry_after"),
    [
        (httpx.Response(408), None),
        (httpx.Response(429, headers={"Retry-After": "120"}, json={"message": "slow down"}), 120.0),
        (httpx.Response(500, text="boom"), None),
        (httpx.Response(502), None),
        (httpx.Response(503, headers={"Retry-After": "7"}), 7.0),
    ],
)
async def test_server_errors_throttling_and_request_timeouts_are_retryable(
    response: httpx.Response, retry_after: float | None
) -> None:
    with pytest.raises(RetryableSubmitError) as caught:
        await submit(response)

    assert caught.value.status_code == response.status_code
    assert caught.value.retry_after == retry_after
    assert f"HTTP {response.status_code}" in str(caught.value)


@pytest.mark.anyio
async def test_retry_after_as_an_http_date() -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=90)
    response = httpx.Response(429, headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)})

    with pytest.raises(RetryableSubmitError) as caught:
        await submit(response)

    assert caught.value.retry_after is not None
    assert 80 <= caught.value.retry_after <= 90


@pytest.mark.anyio
@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.ReadTimeout("read timed out"),
        httpx.RemoteProtocolError("server disconnected"),
    ],
)
async def test_network_errors_and_timeouts_are_retryable(error: Exception) -> None:
    with pytest.raises(RetryableSubmitError) as caught:
        await submit(error)

    assert caught.value.status_code is None
    assert caught.value.__cause__ is error


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("30", 30.0),
        (" 2.5 ", 2.5),
        ("-4", 0.0),
        ("soon", None),
        ("nan", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past: retry now
        ("Thu, 01 Jan 2026 00:01:00 GMT", 60.0),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    assert parse_retry_after(header, now=now) == expected


# -- the key never leaks ------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(401, json={"errors": [{"detail": f"token {API_KEY} is not valid"}]}),
        httpx.Response(403, text=f"Forbidden for Authorization: Bearer {API_KEY}"),
        httpx.Response(500, text=f"stack trace ... headers={{'authorization': 'Bearer {API_KEY}'}}"),
        httpx.Response(302, headers={"Location": f"https://login.example/?key={API_KEY}"}),
        httpx.ConnectError(f"proxy said no to {API_KEY}"),
    ],
)
async def test_the_api_key_never_reaches_errors_or_logs(
    failure: httpx.Response | Exception, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    with pytest.raises(SubmitError) as caught:
        await submit(failure)

    assert API_KEY not in str(caught.value)
    assert API_KEY not in repr(caught.value.args)
    assert "[redacted]" in str(caught.value)
    assert caplog.records, "failures are logged"
    assert API_KEY not in caplog.text


def test_the_api_key_is_not_in_the_clients_repr() -> None:
    assert API_KEY not in repr(make_client())
    assert API_KEY not in repr(vars(make_client()))


# -- the HTTP client's lifetime -------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_injected_http_client_is_used_and_left_open(api: respx.MockRouter) -> None:
    route = api.post(ENDPOINT).respond(201, json={"id": "1"})
    async with httpx.AsyncClient(headers={"X-Shared": "yes"}) as shared:
        client = make_client(shared)

        await client.submit(PAYLOAD)
        await client.aclose()

        assert not shared.is_closed
        assert route.calls.last.request.headers["X-Shared"] == "yes"


@pytest.mark.anyio
async def test_an_own_http_client_is_created_once_and_closed(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.post(ENDPOINT).respond(201, json={"id": "1"})
    created: list[httpx.AsyncClient] = []
    original_init = httpx.AsyncClient.__init__

    def recording_init(self: httpx.AsyncClient, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        created.append(self)

    monkeypatch.setattr(httpx.AsyncClient, "__init__", recording_init)
    client = make_client()

    await client.submit(PAYLOAD)
    await client.submit(PAYLOAD)
    await client.aclose()
    await client.aclose()  # idempotent

    assert len(created) == 1
    assert created[0].is_closed


@pytest.mark.anyio
@pytest.mark.parametrize("status", [401, 403])
async def test_a_refused_key_is_retried_with_the_key_read_afresh(api: respx.MockRouter, status: int) -> None:
    # A wrong or rotated key is a deployment problem: retry, and skip the secret cache next time.
    reads: list[bool] = []

    def provider(force: bool) -> SecretStr:
        reads.append(force)
        return SecretStr("new-key" if force else API_KEY)

    route = api.post(ENDPOINT).mock(
        side_effect=[httpx.Response(status, json={"message": "Unauthenticated."}), httpx.Response(201, json={})]
    )
    client = TicketFairyClient(BASE_URL, provider, timeout=5)
    with pytest.raises(RetryableSubmitError, match=rf"refused the API key \(HTTP {status}\): Unauthenticated"):
        await client.submit({"data": {}})
    await client.submit({"data": {}})
    await client.aclose()
    assert route.calls[1].request.headers["Authorization"] == "Bearer new-key"
    assert reads == [False, False, True]


@pytest.mark.anyio
async def test_deleting_a_draft_that_is_already_gone_succeeds(api: respx.MockRouter) -> None:
    api.delete(f"{ENDPOINT}/77").mock(return_value=httpx.Response(404, json={"error": "Not Found"}))
    api.delete(f"{ENDPOINT}/78").mock(return_value=httpx.Response(422, json={"error": "locked"}))
    client = TicketFairyClient(BASE_URL, SecretStr(API_KEY), timeout=5)
    assert (await client.delete("77"))["deleted"] == "77"
    with pytest.raises(PermanentSubmitError, match="locked"):
        await client.delete("78")
    await client.aclose()


# -- hostile destinations -------------------------------------------------------------------------


class _DrippingBody(httpx.AsyncByteStream):
    """A response body served in ``chunks`` with ``pause`` seconds between them; counts what was read."""

    def __init__(self, chunk: bytes, count: int, pause: float = 0.0) -> None:
        self.chunk, self.count, self.pause = chunk, count, pause
        self.served = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            if self.pause:
                await asyncio.sleep(self.pause)
            self.served += len(self.chunk)
            yield self.chunk


def _client_answering(status: int, body: _DrippingBody, *, timeout: float = 5.0) -> TicketFairyClient:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, stream=body))
    return TicketFairyClient(
        BASE_URL, SecretStr(API_KEY), timeout=timeout, http_client=httpx.AsyncClient(transport=transport)
    )


@pytest.mark.anyio
async def test_a_dripping_answer_is_cut_off_at_the_total_deadline() -> None:
    # Given an answer that sends a byte every 50 ms for 10 s, each read well within any per-read timeout
    body = _DrippingBody(b"{", 200, pause=0.05)
    client = _client_answering(201, body, timeout=0.5)

    started = time.monotonic()
    with pytest.raises(RetryableSubmitError, match=r"did not answer within 0.5s"):
        await client.submit(PAYLOAD)

    # Then the whole request gave up at its deadline, not when the drip ended
    assert time.monotonic() - started < 2.0
    assert body.served < 50


@pytest.mark.anyio
@pytest.mark.parametrize("status", [200, 500])
async def test_at_most_64_kib_of_an_answer_is_read(status: int) -> None:
    # Given a 30 MB answer
    body = _DrippingBody(b"x" * 65_536, 480)
    client = _client_answering(status, body)

    if status == 200:
        answer = await client.submit(PAYLOAD)
        assert answer == {"body_problem": "the body is larger than 64 KiB and was not read"}
    else:
        with pytest.raises(RetryableSubmitError) as caught:
            await client.submit(PAYLOAD)
        assert len(str(caught.value)) < 400  # an excerpt, not the body
    # Then no more than the cap (and the chunk that crossed it) was ever read
    assert body.served <= MAX_BODY_BYTES + 65_536
