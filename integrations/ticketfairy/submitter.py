"""Wires TicketFairy's transformer, client and selectors into a submitter."""

from __future__ import annotations

import httpx

from integrations.base import BaseSubmitter, Integration
from integrations.ports import SecretReader, Store
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
        secrets: SecretReader,
        *,
        http_client: httpx.AsyncClient | None = None,
    ) -> TicketFairySubmitter:
        # Read once now, so a misconfigured key fails the cold start; afterwards per
        # request through the parameter cache, so a rotated key reaches warm functions.
        config.resolve_api_key(secrets)
        client = TicketFairyClient(
            base_url=str(config.base_url),
            api_key=lambda force: config.resolve_api_key(secrets, force=force),
            timeout=config.timeout_seconds,
            http_client=http_client,
            origin=config.origin,
        )
        return cls(
            integration=integration,
            store=store,
            transformer=TicketFairyTransformer(status=config.status),
            client=client,
            selectors=SELECTORS,
        )
