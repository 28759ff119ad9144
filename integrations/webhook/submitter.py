"""Wires the webhook's transformer, client and selectors into a submitter."""

from __future__ import annotations

from typing import Any

import httpx

from integrations.base import BaseSubmitter, Integration
from integrations.ports import SecretReader, Store
from integrations.records import CachedEvent
from integrations.webhook.client import WebhookClient
from integrations.webhook.config import WebhookConfig
from integrations.webhook.selectors import SELECTORS
from integrations.webhook.transformer import WebhookTransformer


class WebhookSubmitter(BaseSubmitter):
    """The standard submit workflow; a message's ``data`` also names the event and its version."""

    @classmethod
    def from_config(
        cls,
        integration: Integration,
        store: Store,
        config: WebhookConfig,
        secrets: SecretReader,
        *,
        http_client: httpx.AsyncClient | None = None,
    ) -> WebhookSubmitter:
        # Read once now, so a misconfigured secret fails the cold start; afterwards per
        # request through the parameter cache, so a rotation reaches warm functions.
        config.resolve_secrets(secrets)
        client = WebhookClient(
            url=config.url,
            secrets=lambda: config.resolve_secrets(secrets),
            timeout=config.timeout_seconds,
            http_client=http_client,
        )
        return cls(
            integration=integration,
            store=store,
            transformer=WebhookTransformer(),
            client=client,
            selectors=SELECTORS,
        )

    def build_payload(self, event: CachedEvent) -> dict[str, Any]:
        """``{"event_id", "version", "event"}``: the receiver's key for the event is its id."""
        return {"event_id": event.event_id, "version": event.version, **super().build_payload(event)}
