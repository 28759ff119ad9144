"""Calendar settings, read from ``CALENDAR_*`` environment variables.

Load with ``CalendarIntegration().load_config()``.  ``CALENDAR_URL`` is the
calendar collection events are written into (``https://cal.example.com/dav/user/events/``).
The CalDAV password, if the server asks for one, comes from at most one of
three places, as TicketFairy's key does: the environment itself (fine
locally), an SSM SecureString parameter, or a Secrets Manager secret.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator

from integrations.env import LOOPBACK_HOSTS
from integrations.ports import SecretReader

__all__ = ["ENV_PREFIX", "CalendarConfig", "PayloadSettings"]

ENV_PREFIX = "CALENDAR_"
DEFAULT_PRODID = "-//Event Importer//Calendar integration//EN"

_PASSWORD_SOURCES = ("password", "password_parameter", "password_secret")


class PayloadSettings(BaseModel):
    """The settings that shape a payload: all a dry run needs (no URL, no password)."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    #: ``PRODID`` of every calendar object (``CALENDAR_PRODID``).
    prodid: str = Field(default=DEFAULT_PRODID, min_length=1)


class CalendarConfig(BaseModel):
    """Which calendar collection to write to, as whom, and how long to wait for it."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    url: str
    username: str | None = None
    #: The password itself (``CALENDAR_PASSWORD``); ``SecretStr`` keeps it out of reprs and logs.
    password: SecretStr | None = None
    #: Name of an SSM parameter (SecureString) holding the password.
    password_parameter: str | None = None
    #: Id or ARN of a Secrets Manager secret holding the password.
    password_secret: str | None = None
    #: How the login is sent. Pinned, not guessed: caldav's guess is a 401 first, and a batch's
    #: concurrent first requests all meeting it made the client re-read the password mid-batch.
    auth_type: Literal["basic", "digest"] = "basic"
    timeout_seconds: float = Field(default=10.0, gt=0)
    prodid: str = Field(default=DEFAULT_PRODID, min_length=1)

    @field_validator("url")
    @classmethod
    def _calendar_url(cls, value: str, info: ValidationInfo) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an absolute https URL of a calendar collection")
        # The password travels with every request: plain HTTP only to this machine, and only
        # in the local runtime (a Radicale on loopback); a deployed function must use https.
        local = bool((info.context or {}).get("local_runtime"))
        if parts.scheme == "http" and not (local and parts.hostname in LOOPBACK_HOSTS):
            raise ValueError("must use https (plain http only for a loopback address in the local runtime)")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials: set CALENDAR_USERNAME and a CALENDAR_PASSWORD* source")
        # A collection URL ends in "/": object URLs are resolved against it.
        return value if value.endswith("/") else value + "/"

    @model_validator(mode="after")
    def _at_most_one_password_source(self) -> CalendarConfig:
        # Name the variables, never their values: one of them is the password.
        given = [f"{ENV_PREFIX}{name.upper()}" for name in _PASSWORD_SOURCES if getattr(self, name) is not None]
        if len(given) > 1:
            raise ValueError(f"set at most one of {', '.join(given)}")
        if given and not self.username:
            raise ValueError(f"{given[0]} is set but {ENV_PREFIX}USERNAME is not")
        return self

    @property
    def has_password(self) -> bool:
        return any(getattr(self, name) is not None for name in _PASSWORD_SOURCES)

    def resolve_password(self, secrets: SecretReader, *, force: bool = False) -> SecretStr | None:
        """The password, read through ``secrets`` from SSM or Secrets Manager when configured so; ``None`` if none.

        Raises ``ConfigurationError`` naming the parameter or secret that could not be read.
        """
        if not self.has_password:
            return None
        return secrets(self.password, self.password_parameter, self.password_secret, force=force)
