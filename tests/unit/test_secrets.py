"""Secret resolution (inline, SSM, Secrets Manager) and the TicketFairy settings that use it."""

from __future__ import annotations

import boto3
import botocore.session
import pytest
from aws_lambda_powertools.utilities import parameters
from pydantic import SecretStr

from infra.aws.secrets import SecretResolver, resolve_secret
from integrations.env import load_env_model
from integrations.errors import ConfigurationError
from integrations.ticketfairy.config import DEFAULT_BASE_URL, ENV_PREFIX, TicketFairyConfig

KEY_VALUE = "tf_live_0123456789abcdef"
PARAMETER = "/event-importer/ticketfairy/api-key"
SECRET = "event-importer/ticketfairy"


def clear_parameter_caches() -> None:
    parameters.clear_caches()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated


def put_parameter(value: str = KEY_VALUE) -> None:
    boto3.client("ssm").put_parameter(Name=PARAMETER, Value=value, Type="SecureString", Overwrite=True)


# -- resolve_secret ------------------------------------------------------------------------


def test_an_inline_value_is_returned_without_calling_aws() -> None:
    # No moto and no credentials here: any AWS call would fail.
    assert resolve_secret(SecretStr(KEY_VALUE), None, None).get_secret_value() == KEY_VALUE


@pytest.mark.usefixtures("aws")
def test_reads_and_decrypts_an_ssm_secure_string() -> None:
    put_parameter(KEY_VALUE + "\n")

    value = resolve_secret(None, PARAMETER, None)

    assert isinstance(value, SecretStr)
    assert value.get_secret_value() == KEY_VALUE  # white space from a pasted file is dropped
    assert KEY_VALUE not in repr(value)


@pytest.mark.usefixtures("aws")
def test_reads_a_secrets_manager_string_secret() -> None:
    boto3.client("secretsmanager").create_secret(Name=SECRET, SecretString=KEY_VALUE)

    assert resolve_secret(None, None, SECRET).get_secret_value() == KEY_VALUE


@pytest.mark.usefixtures("aws")
def test_reads_a_secrets_manager_binary_secret_as_text() -> None:
    boto3.client("secretsmanager").create_secret(Name=SECRET, SecretBinary=KEY_VALUE.encode())

    assert resolve_secret(None, None, SECRET).get_secret_value() == KEY_VALUE


@pytest.mark.usefixtures("aws")
def test_values_are_cached_for_max_age() -> None:
    put_parameter("first-key")
    assert resolve_secret(None, PARAMETER, None).get_secret_value() == "first-key"
    put_parameter("rotated-key")

    assert resolve_secret(None, PARAMETER, None).get_secret_value() == "first-key"
    clear_parameter_caches()
    assert resolve_secret(None, PARAMETER, None).get_secret_value() == "rotated-key"


@pytest.mark.usefixtures("aws")
def test_max_age_zero_caches_nothing() -> None:
    put_parameter("first-key")
    uncached = SecretResolver(max_age=0)
    assert uncached(None, PARAMETER, None).get_secret_value() == "first-key"
    put_parameter("rotated-key")

    assert uncached(None, PARAMETER, None).get_secret_value() == "rotated-key"


@pytest.mark.usefixtures("aws")
def test_a_resolver_on_a_session_reads_through_its_own_clients_and_cache() -> None:
    put_parameter("first-key")
    boto3.client("secretsmanager").create_secret(Name=SECRET, SecretBinary=KEY_VALUE.encode())
    resolver = SecretResolver(botocore.session.get_session())

    assert resolver(None, PARAMETER, None).get_secret_value() == "first-key"
    assert resolver(None, None, SECRET).get_secret_value() == KEY_VALUE
    put_parameter("rotated-key")
    assert resolver(None, PARAMETER, None).get_secret_value() == "first-key"
    assert resolver(None, PARAMETER, None, force=True).get_secret_value() == "rotated-key"


@pytest.mark.usefixtures("aws")
def test_a_missing_parameter_is_a_configuration_error_naming_it() -> None:
    with pytest.raises(ConfigurationError, match=f"SSM parameter '{PARAMETER}'.*ParameterNotFound"):
        resolve_secret(None, PARAMETER, None)


@pytest.mark.usefixtures("aws")
def test_a_missing_secret_is_a_configuration_error_naming_it() -> None:
    with pytest.raises(ConfigurationError, match=f"secret '{SECRET}' from Secrets Manager.*ResourceNotFound"):
        resolve_secret(None, None, SECRET)


@pytest.mark.usefixtures("aws")
def test_a_blank_value_is_an_error_that_names_the_parameter() -> None:
    put_parameter("   ")

    with pytest.raises(ConfigurationError, match=f"SSM parameter '{PARAMETER}' is empty"):
        resolve_secret(None, PARAMETER, None)


@pytest.mark.usefixtures("aws")
def test_a_non_utf8_binary_secret_is_an_error_without_its_bytes() -> None:
    boto3.client("secretsmanager").create_secret(Name=SECRET, SecretBinary=b"\xff\xfe\x00secret")

    with pytest.raises(ConfigurationError, match="is binary and not UTF-8") as caught:
        resolve_secret(None, None, SECRET)

    assert "xff" not in str(caught.value)


def test_missing_region_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    clear_parameter_caches()
    try:
        with pytest.raises(ConfigurationError, match=f"SSM parameter '{PARAMETER}'"):
            resolve_secret(None, PARAMETER, None)
    finally:
        clear_parameter_caches()


@pytest.mark.parametrize(
    ("value", "parameter", "secret", "message"),
    [
        (None, None, None, "needs a source"),
        (SecretStr(KEY_VALUE), PARAMETER, None, "an inline value and an SSM parameter"),
        (None, PARAMETER, SECRET, "an SSM parameter and a Secrets Manager secret"),
        (SecretStr(""), None, None, "inline secret value is empty"),
    ],
)
def test_needs_exactly_one_non_empty_source(
    value: SecretStr | None, parameter: str | None, secret: str | None, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        resolve_secret(value, parameter, secret)

    assert KEY_VALUE not in str(caught.value)


# -- TicketFairyConfig ---------------------------------------------------------------------


def load(**env: str) -> TicketFairyConfig:
    return load_env_model(
        TicketFairyConfig, {f"{ENV_PREFIX}{name}": value for name, value in env.items()}, prefix=ENV_PREFIX
    )


def test_config_defaults() -> None:
    config = load(API_KEY=KEY_VALUE)

    assert config.base_url == DEFAULT_BASE_URL
    assert config.timeout_seconds == 10.0
    assert config.api_key is not None
    assert config.api_key.get_secret_value() == KEY_VALUE
    assert KEY_VALUE not in repr(config)
    assert KEY_VALUE not in str(config.model_dump())


def test_config_reads_every_variable() -> None:
    config = load(BASE_URL="http://localhost:8080/", API_KEY_PARAMETER=PARAMETER, TIMEOUT_SECONDS="2.5")

    assert config.base_url == "http://localhost:8080"
    assert config.api_key_parameter == PARAMETER
    assert config.api_key is None
    assert config.timeout_seconds == 2.5


@pytest.mark.parametrize(
    ("env", "found"),
    [
        ({}, "none is set"),
        (
            {"API_KEY": KEY_VALUE, "API_KEY_PARAMETER": PARAMETER},
            "TICKETFAIRY_API_KEY and TICKETFAIRY_API_KEY_PARAMETER",
        ),
        (
            {"API_KEY": KEY_VALUE, "API_KEY_PARAMETER": PARAMETER, "API_KEY_SECRET": SECRET},
            "TICKETFAIRY_API_KEY and TICKETFAIRY_API_KEY_PARAMETER and TICKETFAIRY_API_KEY_SECRET are set",
        ),
    ],
)
def test_config_needs_exactly_one_key_source(env: dict[str, str], found: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load(**env)

    message = str(caught.value)
    assert (
        "set exactly one of TICKETFAIRY_API_KEY, TICKETFAIRY_API_KEY_PARAMETER, TICKETFAIRY_API_KEY_SECRET" in message
    )
    assert found in message
    assert KEY_VALUE not in message
    assert PARAMETER not in message


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"TIMEOUT_SECONDS": "0"}, "TICKETFAIRY_TIMEOUT_SECONDS"),
        ({"TIMEOUT_SECONDS": "soon"}, "TICKETFAIRY_TIMEOUT_SECONDS"),
        ({"BASE_URL": "www.theticketfairy.com"}, "TICKETFAIRY_BASE_URL"),
    ],
)
def test_config_rejects_bad_values_naming_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigurationError, match=variable) as caught:
        load(API_KEY=KEY_VALUE, **env)

    assert KEY_VALUE not in str(caught.value)


@pytest.mark.usefixtures("aws")
def test_config_resolves_its_key_from_ssm() -> None:
    put_parameter()

    assert load(API_KEY_PARAMETER=PARAMETER).resolve_api_key(resolve_secret).get_secret_value() == KEY_VALUE


def test_config_resolves_an_inline_key() -> None:
    assert load(API_KEY=KEY_VALUE).resolve_api_key(resolve_secret).get_secret_value() == KEY_VALUE
