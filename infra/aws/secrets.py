"""Secret values from wherever operators keep them: inline, SSM Parameter Store or Secrets Manager.

Reads go through Powertools Parameters, whose providers cache each value for
``max_age`` seconds, so a warm Lambda does not call AWS per invocation.  This
module imports Powertools Parameters (and with it boto3) at import time: only
code that needs a secret, such as a submit function, may import it; fan-out
must not.

A function's wiring passes its own botocore session (``SecretResolver``):
Powertools' default providers would each build a boto3 session of their own,
and every session loads botocore's endpoint data again (≈5 MB of JSON) at
the first read, on the function's cold start.

Errors name the parameter or secret, never the value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3.session
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import SecretStr

from integrations.errors import ConfigurationError
from integrations.redaction import register_secret

if TYPE_CHECKING:
    import botocore.session

__all__ = ["DEFAULT_MAX_AGE_SECONDS", "SecretResolver", "resolve_secret"]

#: Long enough to spare AWS a call per invocation, short enough that a rotated
#: key reaches warm functions within minutes.
DEFAULT_MAX_AGE_SECONDS = 300

# Raised by the providers (GetParameterError wraps API errors) or by building
# the boto3 client (no region, no credentials).
_READ_ERRORS = (GetParameterError, TransformParameterError, BotoCoreError, ClientError)


class SecretResolver:
    """A ``SecretReader`` whose SSM and Secrets Manager clients come from one botocore session.

    Without a session it reads through Powertools' default providers (shared
    by the process, cleared by ``parameters.clear_caches()``).  The clients
    are created at the first read of their kind: a key given inline needs none.
    """

    def __init__(self, session: botocore.session.Session | None = None, *, max_age: int = DEFAULT_MAX_AGE_SECONDS):
        self.max_age = max_age
        self._session = boto3.session.Session(botocore_session=session) if session is not None else None
        self._ssm: parameters.SSMProvider | None = None
        self._secrets: parameters.SecretsProvider | None = None

    def __call__(
        self, value: SecretStr | None, parameter: str | None, secret: str | None, *, force: bool = False
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
            return self._from_parameter_store(parameter, force)
        if secret:
            return self._from_secrets_manager(secret, force)
        raise ConfigurationError(
            "a secret needs a source: an inline value, an SSM parameter or a Secrets Manager secret"
        )

    def _from_parameter_store(self, name: str, force: bool) -> SecretStr:
        raw: object
        try:
            if self._session is None:
                raw = parameters.get_parameter(name, decrypt=True, max_age=self.max_age, force_fetch=force)
            else:
                self._ssm = self._ssm or parameters.SSMProvider(boto3_session=self._session)
                raw = self._ssm.get(name, max_age=self.max_age, decrypt=True, force_fetch=force)
        except _READ_ERRORS as exc:
            raise ConfigurationError(f"could not read SSM parameter {name!r}: {exc}") from exc
        if not isinstance(raw, str):
            raise ConfigurationError(f"SSM parameter {name!r} is not text")
        return _non_empty(raw, f"SSM parameter {name!r}")

    def _from_secrets_manager(self, secret_id: str, force: bool) -> SecretStr:
        try:
            # Typed as str, but a secret stored as SecretBinary comes back as bytes.
            raw: object
            if self._session is None:
                raw = parameters.get_secret(secret_id, max_age=self.max_age, force_fetch=force)
            else:
                self._secrets = self._secrets or parameters.SecretsProvider(boto3_session=self._session)
                raw = self._secrets.get(secret_id, max_age=self.max_age, force_fetch=force)
        except _READ_ERRORS as exc:
            raise ConfigurationError(f"could not read secret {secret_id!r} from Secrets Manager: {exc}") from exc
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ConfigurationError(f"secret {secret_id!r} is binary and not UTF-8 text") from None
        if not isinstance(raw, str):
            raise ConfigurationError(f"secret {secret_id!r} is not text")
        return _non_empty(raw, f"secret {secret_id!r}")


#: The process-wide reader (Powertools' default providers), for the CLI and tests.
resolve_secret = SecretResolver()


def _non_empty(raw: str, where: str) -> SecretStr:
    text = raw.strip()
    if not text:
        raise ConfigurationError(f"{where} is empty")
    # From now on no log line of this process may show it, whoever writes the line.
    register_secret(text)
    return SecretStr(text)
