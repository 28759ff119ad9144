"""Wires TicketFairy's transformer, client and selectors into a submitter."""

from __future__ import annotations

import httpx

from infra.secrets import resolve_secret
from integrations.base import BaseSubmitter, Integration
from integrations.ports import Store
from integrations.ticketfairy.client import TicketFairyClient
from integrations.ticketfairy.config import TicketFairyConfig
from integrations.ticketfairy.selectors import SELECTORS
from integrations.ticketfairy.transformer import TicketFairyTransformer


class TicketFairySubmitter(BaseSubmitter):
    """The standard submit workflow with TicketFairy's parts."""

    @classmethod
    def from_config(
        cls,
        integration: Integration,
        store: Store,
        config: TicketFairyConfig,
        *,
        http_client: httpx.AsyncClient | None = None,
    ) -> TicketFairySubmitter:
        api_key = resolve_secret(config.api_key, config.api_key_parameter, config.api_key_secret)
        client = TicketFairyClient(
            base_url=str(config.base_url),
            api_key=api_key,
            timeout=config.timeout_seconds,
            http_client=http_client,
        )
        return cls(
            integration=integration,
            store=store,
            transformer=TicketFairyTransformer(),
            client=client,
            selectors=SELECTORS,
        )
