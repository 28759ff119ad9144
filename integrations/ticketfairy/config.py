"""TicketFairy settings, read from ``TICKETFAIRY_*`` environment variables.

Load with ``TicketFairyIntegration().load_config()``.
The API key comes from exactly one of three places: the environment itself
(fine locally), an SSM SecureString parameter, or a Secrets Manager secret
(both preferred on AWS: the key then never sits in the function's
configuration).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from integrations.ports import SecretReader

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_ORIGIN", "DEFAULT_STATUS", "ENV_PREFIX", "PayloadSettings", "TicketFairyConfig"]

ENV_PREFIX = "TICKETFAIRY_"
DEFAULT_BASE_URL = "https://www.theticketfairy.com"
# What the original event-importer sent, the only values known to be accepted.
DEFAULT_ORIGIN = "https://restlessnites.com"
DEFAULT_STATUS = "Public"

_KEY_SOURCES = ("api_key", "api_key_parameter", "api_key_secret")


class PayloadSettings(BaseModel):
    """The settings that shape a payload (``TICKETFAIRY_STATUS``): all a dry run needs, no key."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    status: str = Field(default=DEFAULT_STATUS, min_length=1)


class TicketFairyConfig(BaseModel):
    """Where TicketFairy's API is, how to find its key, and how long to wait for it."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    base_url: str = DEFAULT_BASE_URL
    #: The key itself (``TICKETFAIRY_API_KEY``); ``SecretStr`` keeps it out of reprs and logs.
    api_key: SecretStr | None = None
    #: Name of an SSM parameter (SecureString) holding the key.
    api_key_parameter: str | None = None
    #: Id or ARN of a Secrets Manager secret holding the key.
    api_key_secret: str | None = None
    timeout_seconds: float = Field(default=10.0, gt=0)
    #: ``status`` of every draft (``TICKETFAIRY_STATUS``): a policy, so a setting.
    status: str = Field(default=DEFAULT_STATUS, min_length=1)
    #: The ``Origin`` header (``TICKETFAIRY_ORIGIN``): the site the drafts come from.
    origin: str = DEFAULT_ORIGIN

    @field_validator("base_url")
    @classmethod
    def _absolute_http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL such as https://www.theticketfairy.com")
        # The API key travels in a header: plain HTTP only to this machine (the local stand-in).
        if parts.scheme == "http" and parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
            raise ValueError("must use https (plain http is allowed only for a loopback address)")
        return value.rstrip("/")

    @field_validator("origin")
    @classmethod
    def _http_origin(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path.strip("/") or parts.query:
            raise ValueError("must be an origin such as https://restlessnites.com (scheme and host, no path)")
        return f"{parts.scheme}://{parts.netloc}"

    @model_validator(mode="after")
    def _exactly_one_key_source(self) -> TicketFairyConfig:
        # Name the variables, never their values: one of them is the key.
        given = [f"{ENV_PREFIX}{name.upper()}" for name in _KEY_SOURCES if getattr(self, name) is not None]
        if len(given) != 1:
            options = ", ".join(f"{ENV_PREFIX}{name.upper()}" for name in _KEY_SOURCES)
            found = f"{' and '.join(given)} are set" if given else "none is set"
            raise ValueError(f"set exactly one of {options} ({found})")
        return self

    def resolve_api_key(self, secrets: SecretReader, *, force: bool = False) -> SecretStr:
        """The API key, read through ``secrets`` from SSM or Secrets Manager when configured so.

        ``force`` skips the reader's cache.  Raises ``ConfigurationError``
        naming the parameter or secret that could not be read.
        """
        return secrets(self.api_key, self.api_key_parameter, self.api_key_secret, force=force)
