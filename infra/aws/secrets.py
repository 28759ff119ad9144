"""Secret values from wherever operators keep them: inline, SSM Parameter Store or Secrets Manager.

Reads go through Powertools Parameters, whose providers cache each value for
``max_age`` seconds, so a warm Lambda does not call AWS per invocation.  This
module imports Powertools Parameters (and with it boto3) at import time: only
code that needs a secret, such as a submit function, may import it; fan-out
must not.

Errors name the parameter or secret, never the value.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import SecretStr

from integrations.errors import ConfigurationError
from integrations.redaction import register_secret

__all__ = ["DEFAULT_MAX_AGE_SECONDS", "resolve_secret"]

#: Long enough to spare AWS a call per invocation, short enough that a rotated
#: key reaches warm functions within minutes.
DEFAULT_MAX_AGE_SECONDS = 300

# Raised by the providers (GetParameterError wraps API errors) or by building
# the boto3 client (no region, no credentials).
_READ_ERRORS = (GetParameterError, TransformParameterError, BotoCoreError, ClientError)


def resolve_secret(
    value: SecretStr | None,
    parameter: str | None,
    secret: str | None,
    *,
    max_age: int = DEFAULT_MAX_AGE_SECONDS,
    force: bool = False,
) -> SecretStr:
    """Return the secret from exactly one source: ``value``, SSM ``parameter`` or Secrets Manager ``secret``.

    An SSM parameter is read with decryption (SecureString); a Secrets Manager
    secret is used whole (its SecretString, or its SecretBinary as UTF-8).
    Surrounding white space is dropped: a key pasted from a file often ends in
    a newline, which is not a valid HTTP header character.

    ``force`` skips the cache (after the destination refused the cached value).
    Raises ``ConfigurationError`` when no source or more than one is given,
    when the value cannot be read, or when it is empty.
    """
    given = [
        label
        for label, present in (
            ("an inline value", value is not None),
            ("an SSM parameter", bool(parameter)),
            ("a Secrets Manager secret", bool(secret)),
        )
        if present
    ]
    if len(given) > 1:
        raise ConfigurationError(f"a secret needs exactly one source; got {' and '.join(given)}")
    if value is not None:
        return _non_empty(value.get_secret_value(), "the inline secret value")
    if parameter:
        return _from_parameter_store(parameter, max_age, force)
    if secret:
        return _from_secrets_manager(secret, max_age, force)
    raise ConfigurationError("a secret needs a source: an inline value, an SSM parameter or a Secrets Manager secret")


def _from_parameter_store(name: str, max_age: int, force: bool) -> SecretStr:
    try:
        raw = parameters.get_parameter(name, decrypt=True, max_age=max_age, force_fetch=force)
    except _READ_ERRORS as exc:
        raise ConfigurationError(f"could not read SSM parameter {name!r}: {exc}") from exc
    return _non_empty(raw, f"SSM parameter {name!r}")


def _from_secrets_manager(secret_id: str, max_age: int, force: bool) -> SecretStr:
    try:
        # Typed as str, but a secret stored as SecretBinary comes back as bytes.
        raw: str | bytes = parameters.get_secret(secret_id, max_age=max_age, force_fetch=force)
    except _READ_ERRORS as exc:
        raise ConfigurationError(f"could not read secret {secret_id!r} from Secrets Manager: {exc}") from exc
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigurationError(f"secret {secret_id!r} is binary and not UTF-8 text") from None
    return _non_empty(raw, f"secret {secret_id!r}")


def _non_empty(raw: str, where: str) -> SecretStr:
    text = raw.strip()
    if not text:
        raise ConfigurationError(f"{where} is empty")
    # From now on no log line of this process may show it, whoever writes the line.
    register_secret(text)
    return SecretStr(text)
