"""Wires the calendar's transformer, client and selectors into a submitter."""

from __future__ import annotations

from integrations.base import BaseSubmitter, Integration
from integrations.calendar.client import CalendarClient
from integrations.calendar.config import CalendarConfig
from integrations.calendar.selectors import SELECTORS
from integrations.calendar.transformer import CalendarTransformer
from integrations.ports import SecretReader, Store


class CalendarSubmitter(BaseSubmitter):
    """The standard submit workflow with the calendar's parts."""

    @classmethod
    def from_config(
        cls, integration: Integration, store: Store, config: CalendarConfig, secrets: SecretReader
    ) -> CalendarSubmitter:
        # Read once now, so a misconfigured password fails the cold start; afterwards through
        # the parameter cache, and afresh after the server refused it.
        config.resolve_password(secrets)
        client = CalendarClient(
            config.url,
            username=config.username,
            password=lambda force: config.resolve_password(secrets, force=force),
            timeout=config.timeout_seconds,
            auth_type=config.auth_type,
        )
        return cls(
            integration=integration,
            store=store,
            transformer=CalendarTransformer(prodid=config.prodid),
            client=client,
            selectors=SELECTORS,
        )
