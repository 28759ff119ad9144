"""Webhook: every event version as a signed Standard Webhooks delivery to one endpoint."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, ClassVar

from integrations.base import Integration
from integrations.env import is_local_runtime, load_env_model
from integrations.webhook.config import ENV_PREFIX, WebhookConfig

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic import BaseModel

    from integrations.base import BaseSubmitter, BaseTransformer
    from integrations.ports import SecretReader, Store


class WebhookIntegration(Integration):
    """Posts ``event.created`` / ``event.updated`` / ``event.removed`` to the configured endpoint."""

    config_model: ClassVar[type[WebhookConfig]] = WebhookConfig
    # Each change is a new message about the same event id: receivers apply it in place.
    supports_updates: ClassVar[bool] = True
    supports_deletes: ClassVar[bool] = True
    # The event's id is its id at the receiver: no create answer is needed to address it.
    needs_remote_id: ClassVar[bool] = False
    # Standard Webhooks: 410 Gone means "stop sending" until an operator re-enables the endpoint.
    disables_on_gone: ClassVar[bool] = True

    @property
    def name(self) -> str:
        return "webhook"

    def load_config(self, environ: Mapping[str, str] | None = None) -> BaseModel:
        """``WEBHOOK_*`` settings; a loopback URL is accepted only where ``EVENT_IMPORTER_LOCAL_RUNTIME`` is set."""
        env = os.environ if environ is None else environ
        local = is_local_runtime(env)
        return load_env_model(
            WebhookConfig, {**env, f"{ENV_PREFIX}ALLOW_LOOPBACK": str(local).lower()}, prefix=ENV_PREFIX
        )

    def create_submitter(self, store: Store, config: BaseModel, secrets: SecretReader) -> BaseSubmitter:
        # Imported here: the client pulls in httpx and standardwebhooks.
        from integrations.webhook.submitter import WebhookSubmitter

        if not isinstance(config, WebhookConfig):
            raise TypeError(f"expected WebhookConfig, got {type(config).__name__}")
        return WebhookSubmitter.from_config(self, store, config, secrets)

    def create_transformer(self, environ: Mapping[str, str] | None = None) -> BaseTransformer:
        from integrations.webhook.transformer import WebhookTransformer

        return WebhookTransformer()
