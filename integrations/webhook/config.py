"""Webhook settings, read from ``WEBHOOK_*`` environment variables.

Load with ``WebhookIntegration().load_config()``.  The signing secret
(``whsec_…``) comes from exactly one of three places, as TicketFairy's key
does: the environment itself (fine locally), an SSM SecureString parameter or
a Secrets Manager secret.  The value may hold up to ``MAX_SECRETS`` secrets
separated by white space or commas: during a rotation every delivery is signed
with each of them, so receivers holding either secret verify it.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from integrations.env import LOCAL_RUNTIME_VARIABLE
from integrations.errors import ConfigurationError
from integrations.ports import SecretReader

__all__ = ["ENV_PREFIX", "LOCAL_RUNTIME_VARIABLE", "MAX_SECRETS", "WebhookConfig", "split_secrets"]

ENV_PREFIX = "WEBHOOK_"
#: The current secret, the next one, and one more for an overlap that is itself rotated.
MAX_SECRETS = 3
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret

_KEY_SOURCES = ("secret", "secret_parameter", "secret_secret")
_SEPARATORS = re.compile(r"[\s,]+")


def is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_secrets(value: SecretStr) -> list[str]:
    """The signing secrets in a secret's value, in order; ``ConfigurationError`` when there are none or too many.

    The message never holds a secret, only how many there were and what prefix they need.
    """
    secrets = [part for part in _SEPARATORS.split(value.get_secret_value().strip()) if part]
    if not 1 <= len(secrets) <= MAX_SECRETS:
        raise ConfigurationError(
            f"the webhook signing secret must hold 1 to {MAX_SECRETS} secrets (found {len(secrets)})"
        )
    if not all(secret.startswith(SECRET_PREFIX) and len(secret) > len(SECRET_PREFIX) for secret in secrets):
        raise ConfigurationError(f"every webhook signing secret must start with {SECRET_PREFIX!r}")
    return secrets


class WebhookConfig(BaseModel):
    """Where the endpoint is, how to find its signing secret(s), and how long to wait for it."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    url: str
    #: The secret(s) themselves (``WEBHOOK_SECRET``); ``SecretStr`` keeps them out of reprs and logs.
    secret: SecretStr | None = None
    #: Name of an SSM parameter (SecureString) holding the secret(s).
    secret_parameter: str | None = None
    #: Id or ARN of a Secrets Manager secret holding the secret(s).
    secret_secret: str | None = None
    timeout_seconds: float = Field(default=10.0, gt=0)
    #: Filled by ``WebhookIntegration.load_config`` from ``EVENT_IMPORTER_LOCAL_RUNTIME``, never by hand.
    allow_loopback: bool = False

    @model_validator(mode="after")
    def _valid(self) -> WebhookConfig:
        parts = urlsplit(self.url)
        if not parts.netloc or parts.scheme not in {"http", "https"}:
            raise ValueError(f"{ENV_PREFIX}URL must be an absolute https URL")
        if parts.username or parts.password:
            raise ValueError(f"{ENV_PREFIX}URL must not carry credentials")
        if is_loopback(parts.hostname) and not self.allow_loopback:
            # A loopback endpoint in a deployed function would post to the function's own sandbox.
            raise ValueError(f"{ENV_PREFIX}URL may name a loopback address only in the local runtime")
        if parts.scheme == "http" and not (self.allow_loopback and is_loopback(parts.hostname)):
            raise ValueError(f"{ENV_PREFIX}URL must use https (plain http only for loopback in the local runtime)")
        # Name the variables, never their values: they are secrets.
        given = [f"{ENV_PREFIX}{name.upper()}" for name in _KEY_SOURCES if getattr(self, name) is not None]
        if len(given) != 1:
            options = ", ".join(f"{ENV_PREFIX}{name.upper()}" for name in _KEY_SOURCES)
            found = f"{' and '.join(given)} are set" if given else "none is set"
            raise ValueError(f"set exactly one of {options} ({found})")
        return self

    def resolve_secrets(self, secrets: SecretReader, *, force: bool = False) -> list[str]:
        """The signing secrets, read through ``secrets`` from SSM or Secrets Manager when configured so.

        Raises ``ConfigurationError`` naming the source that could not be read, or saying what is wrong.
        """
        return split_secrets(secrets(self.secret, self.secret_parameter, self.secret_secret, force=force))
