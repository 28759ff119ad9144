"""Calendar: each event becomes a VEVENT in a CalDAV calendar collection."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from integrations.base import Integration
from integrations.calendar.config import CalendarConfig
from integrations.env import is_local_runtime, load_env_model

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic import BaseModel

    from integrations.base import BaseSubmitter, BaseTransformer
    from integrations.ports import SecretReader, Store


class CalendarIntegration(Integration):
    """Writes each event version as one calendar object (``<event id>.ics``) in a CalDAV collection."""

    config_model: ClassVar[type[CalendarConfig]] = CalendarConfig
    # An update is a PUT of the same resource, a removal its DELETE.
    supports_updates: ClassVar[bool] = True
    supports_deletes: ClassVar[bool] = True
    # The resource's name is derived from the event id, so no answer has to carry an id:
    # a create in doubt is simply PUT again.
    needs_remote_id: ClassVar[bool] = False
    #: The EventData fields the calendar shows; a change to none of them is not sent.
    #: Descriptions, genres, promoters, images and the age limit are not shown.
    sent_fields: ClassVar[frozenset[str] | None] = frozenset(
        {"title", "date", "end_date", "time", "venue", "location", "lineup", "cost", "ticket_url", "source_url"}
    )

    @property
    def name(self) -> str:
        return "calendar"

    def load_config(self, environ: Mapping[str, str] | None = None) -> BaseModel:
        """``CALENDAR_*`` settings; a plain-http loopback URL is accepted only in the local runtime."""
        context = {"local_runtime": is_local_runtime(environ)}
        return load_env_model(CalendarConfig, environ, prefix=self.env_prefix, context=context)

    def create_submitter(self, store: Store, config: BaseModel, secrets: SecretReader) -> BaseSubmitter:
        # Imported here: caldav and icalendar are only for the calendar's own submit function.
        from integrations.calendar.submitter import CalendarSubmitter

        if not isinstance(config, CalendarConfig):
            raise TypeError(f"expected CalendarConfig, got {type(config).__name__}")
        return CalendarSubmitter.from_config(self, store, config, secrets)

    def create_transformer(self, environ: Mapping[str, str] | None = None) -> BaseTransformer:
        # Only the settings that shape payloads: a dry run needs no calendar and no password.
        from integrations.calendar.config import PayloadSettings
        from integrations.calendar.transformer import CalendarTransformer

        settings = load_env_model(PayloadSettings, environ, prefix=self.env_prefix)
        return CalendarTransformer(prodid=settings.prodid)
