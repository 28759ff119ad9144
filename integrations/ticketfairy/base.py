"""TicketFairy: events become drafts through TicketFairy's draft-events API."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from integrations.base import Integration
from integrations.ticketfairy.config import TicketFairyConfig

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic import BaseModel

    from integrations.base import BaseSubmitter, BaseTransformer
    from integrations.ports import SecretReader, Store


class TicketFairyIntegration(Integration):
    """Submits each event version as a TicketFairy draft event."""

    config_model: ClassVar[type[TicketFairyConfig]] = TicketFairyConfig
    # Drafts can be edited (PATCH) and withdrawn (DELETE) by their id.
    supports_updates: ClassVar[bool] = True
    supports_deletes: ClassVar[bool] = True
    # Both need the draft's id, which only the create's answer gives.
    needs_remote_id: ClassVar[bool] = True

    @property
    def name(self) -> str:
        return "ticketfairy"

    def create_submitter(self, store: Store, config: BaseModel, secrets: SecretReader) -> BaseSubmitter:
        # Imported here: the client pulls in httpx, which listing integrations does not need.
        from integrations.ticketfairy.submitter import TicketFairySubmitter

        if not isinstance(config, TicketFairyConfig):
            raise TypeError(f"expected TicketFairyConfig, got {type(config).__name__}")
        return TicketFairySubmitter.from_config(self, store, config, secrets)

    def create_transformer(self, environ: Mapping[str, str] | None = None) -> BaseTransformer:
        # Only the settings that shape payloads: a dry run needs no API key.
        from integrations.env import load_env_model
        from integrations.ticketfairy.config import PayloadSettings
        from integrations.ticketfairy.transformer import TicketFairyTransformer

        settings = load_env_model(PayloadSettings, environ, prefix=self.env_prefix)
        return TicketFairyTransformer(status=settings.status)
