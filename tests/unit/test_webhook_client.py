"""Webhook client and settings: the signed request it sends, and how every answer maps to an outcome."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest
import respx
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from integrations.errors import ConfigurationError, EndpointGoneError, PermanentSubmitError, RetryableSubmitError
from integrations.registry import get_integration
from integrations.webhook.client import WebhookClient, message_id
from integrations.webhook.config import WebhookConfig

URL = "https://hooks.example.test/events"
OLD = "whsec_b2xkLXNpZ25pbmctc2VjcmV0LW5ldmVyLWxvZw=="
NEW = "whsec_bmV3LXNpZ25pbmctc2VjcmV0LW5ldmVyLWxvZw=="
DATA = {"event_id": "e1", "version": 2, "event": {"title": "Night Shift"}}
# Receivers refuse messages older than 5 minutes: sign with the real time.
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def post(
    answer: httpx.Response | Exception, *, secrets: list[str] | None = None, kind: str = "submit", key: str = "k:e1:2"
) -> tuple[httpx.Request, dict[str, Any] | Exception]:
    """Send one message through a mocked endpoint; return the request and the result (or the error)."""
    client = WebhookClient(URL, secrets or [OLD], timeout=5.0, clock=lambda: NOW)
    with respx.mock(assert_all_mocked=True) as router:
        route = router.post(URL).mock(side_effect=[answer])

        async def send() -> dict[str, Any]:
            try:
                if kind == "delete":
                    return await client.delete("e1", idempotency_key=key)
                if kind == "update":
                    return await client.update("e1", DATA, idempotency_key=key)
                return await client.submit(DATA, idempotency_key=key)
            finally:
                await client.aclose()

        try:
            result: dict[str, Any] | Exception = asyncio.run(send())
        except Exception as exc:
            result = exc
        return route.calls.last.request, result


def verify(request: httpx.Request, secret: str) -> Any:
    return Webhook(secret).verify(request.content, dict(request.headers))


# -- the request ----------------------------------------------------------------------


def test_a_message_is_signed_per_the_specification_and_verifies() -> None:
    request, result = post(httpx.Response(204))

    body = verify(request, OLD)
    assert body == {"type": "event.created", "timestamp": NOW.isoformat(), "data": DATA}
    assert request.headers["webhook-id"] == message_id("k:e1:2")
    assert request.headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    assert request.headers["webhook-signature"].startswith("v1,")
    assert result == {"id": "e1", "status": 204}


@pytest.mark.parametrize(("kind", "event_type"), [("update", "event.updated"), ("delete", "event.removed")])
def test_updates_and_removals_have_their_own_types(kind: str, event_type: str) -> None:
    request, _ = post(httpx.Response(200), kind=kind)

    assert verify(request, OLD)["type"] == event_type
    if kind == "delete":
        assert verify(request, OLD)["data"] == {"event_id": "e1"}


def test_the_id_is_stable_per_version_and_differs_across_versions() -> None:
    first, _ = post(httpx.Response(503))
    retry, _ = post(httpx.Response(204))
    next_version, _ = post(httpx.Response(204), key="k:e1:3")

    assert first.headers["webhook-id"] == retry.headers["webhook-id"]
    assert next_version.headers["webhook-id"] != first.headers["webhook-id"]
    assert first.headers["webhook-id"].startswith("msg_")


def test_during_a_rotation_every_message_is_signed_with_each_secret() -> None:
    request, _ = post(httpx.Response(204), secrets=[OLD, NEW])

    assert len(request.headers["webhook-signature"].split()) == 2
    assert verify(request, OLD) == verify(request, NEW)
    other = "whsec_" + "c29tZW9uZS1lbHNlcy1zZWNyZXQ="
    with pytest.raises(WebhookVerificationError):
        verify(request, other)


# -- answers ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 502, 503, 504, 500, 408])
def test_throttling_and_server_errors_are_retried_with_retry_after(status: int) -> None:
    _, result = post(httpx.Response(status, headers={"Retry-After": "7"}))

    assert isinstance(result, RetryableSubmitError)
    assert (result.status_code, result.retry_after) == (status, 7.0)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_other_client_errors_are_permanent(status: int) -> None:
    _, result = post(httpx.Response(status, text="nope"))

    assert type(result) is PermanentSubmitError
    assert result.status_code == status
    assert "nope" in str(result)


def test_gone_is_its_own_permanent_error() -> None:
    _, result = post(httpx.Response(410))

    assert isinstance(result, EndpointGoneError)
    assert "disabled" in str(result)


def test_a_redirect_is_not_followed() -> None:
    _, result = post(httpx.Response(301, headers={"Location": "https://elsewhere.test/"}))

    assert type(result) is PermanentSubmitError
    assert "redirect" in str(result)


@pytest.mark.parametrize(
    "error", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("reset")]
)
def test_network_failures_are_retried(error: Exception) -> None:
    _, result = post(error)

    assert isinstance(result, RetryableSubmitError)


def test_a_secret_echoed_back_never_reaches_the_error() -> None:
    _, result = post(httpx.Response(400, text=f"bad signature for {OLD}"))

    assert isinstance(result, PermanentSubmitError)
    assert OLD not in str(result)
    assert OLD[6:] not in str(result)


# -- settings ---------------------------------------------------------------------------


def config(**env: str) -> WebhookConfig:
    loaded = get_integration("webhook").load_config({"WEBHOOK_SECRET": OLD, **env})
    assert isinstance(loaded, WebhookConfig)
    return loaded


def test_the_endpoint_must_be_https() -> None:
    assert config(WEBHOOK_URL=URL).url == URL
    with pytest.raises(ConfigurationError, match="https"):
        config(WEBHOOK_URL="http://hooks.example.test/events")
    with pytest.raises(ConfigurationError, match="WEBHOOK_URL"):
        config(WEBHOOK_URL="not a url")


def test_loopback_only_in_the_local_runtime() -> None:
    loopback = "http://127.0.0.1:8080/hooks"
    with pytest.raises(ConfigurationError, match="loopback"):
        config(WEBHOOK_URL=loopback)
    with pytest.raises(ConfigurationError, match="loopback"):
        config(WEBHOOK_URL="https://localhost/hooks")
    # Setting the flag through the integration's own prefix does not count.
    with pytest.raises(ConfigurationError, match="loopback"):
        config(WEBHOOK_URL=loopback, WEBHOOK_ALLOW_LOOPBACK="true")
    assert config(WEBHOOK_URL=loopback, EVENT_IMPORTER_LOCAL_RUNTIME="1").url == loopback


def test_without_a_url_the_integration_is_not_enabled() -> None:
    assert not get_integration("webhook").is_enabled({"WEBHOOK_SECRET": OLD})
    assert get_integration("webhook").is_enabled({"WEBHOOK_SECRET": OLD, "WEBHOOK_URL": URL})


@pytest.mark.parametrize(
    ("value", "problem"),
    [("plain-secret", "whsec_"), (f"{OLD} {NEW} {OLD} {NEW}", "1 to 3"), (" , ", "1 to 3")],
)
def test_secrets_are_checked_without_being_named(value: str, problem: str) -> None:
    loaded = config(WEBHOOK_URL=URL, WEBHOOK_SECRET=value)

    def inline(value: Any, parameter: str | None, secret: str | None, *, force: bool = False) -> Any:
        return value

    with pytest.raises(ConfigurationError, match=problem) as caught:
        loaded.resolve_secrets(inline)
    assert OLD not in str(caught.value)
    assert "plain-secret" not in str(caught.value)


def test_up_to_three_secrets_separated_by_spaces_or_commas() -> None:
    loaded = config(WEBHOOK_URL=URL, WEBHOOK_SECRET=f"{OLD}, {NEW}")

    def inline(value: Any, parameter: str | None, secret: str | None, *, force: bool = False) -> Any:
        return value

    assert loaded.resolve_secrets(inline) == [OLD, NEW]
