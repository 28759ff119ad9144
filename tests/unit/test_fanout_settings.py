"""Fan-out's pydantic-free settings read the environment as the other functions' pydantic settings do."""

from __future__ import annotations

import json

import pytest

from infra.aws.fanout_settings import FanoutSettings
from infra.aws.settings import OperationsSettings
from integrations.env import load_env_model
from integrations.errors import ConfigurationError

QUEUES = {"ticketfairy": "http://127.0.0.1:5000/123/tf", "calendar": "", "webhook": "http://127.0.0.1:5000/123/wh"}
ENVIRONMENT = {
    "EVENT_CACHE_TABLE": "cache",
    "SUBMISSIONS_TABLE": "submissions",
    "INTEGRATION_QUEUES": json.dumps(QUEUES),
    "AWS_REGION": "eu-west-1",
}


def test_reads_the_template_s_variables() -> None:
    settings = FanoutSettings.from_env({**ENVIRONMENT, "DISABLED_INTEGRATIONS": " webhook, ", "WIRE_LOGS": "yes"})
    # An empty URL is an integration this stack leaves out.
    assert settings.integration_queues == {"ticketfairy": QUEUES["ticketfairy"], "webhook": QUEUES["webhook"]}
    assert settings.enabled_queues == {"ticketfairy": QUEUES["ticketfairy"]}
    assert settings.wire_logs is True
    assert settings.aws_endpoint_url is None
    assert settings.max_inline_event_bytes == 256 * 1024


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"DISABLED_INTEGRATIONS": "webhook,ticketfairy", "WIRE_LOGS": "off", "MAX_INLINE_EVENT_BYTES": "2048"},
        {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "WIRE_LOGS": "", "MAX_INLINE_EVENT_BYTES": ""},
    ],
)
def test_agrees_with_the_operations_settings_on_every_shared_variable(extra: dict[str, str]) -> None:
    environment = {**ENVIRONMENT, **extra}
    ours = FanoutSettings.from_env(environment)
    theirs = load_env_model(OperationsSettings, environment)
    for name in ours.__dataclass_fields__:
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.enabled_queues == theirs.enabled_queues


def test_names_every_bad_variable_and_never_its_value() -> None:
    environment = {
        "EVENT_CACHE_TABLE": "ab",
        "INTEGRATION_QUEUES": '["s3cret-looking"]',
        "WIRE_LOGS": "s3cret-flag",
        "MAX_INLINE_EVENT_BYTES": "99",
    }
    with pytest.raises(ConfigurationError) as caught:
        FanoutSettings.from_env(environment)
    message = str(caught.value)
    for variable in ("EVENT_CACHE_TABLE", "SUBMISSIONS_TABLE", "INTEGRATION_QUEUES", "WIRE_LOGS"):
        assert variable in message
    assert "MAX_INLINE_EVENT_BYTES: must be between 1024 and 1048576" in message
    assert "s3cret" not in message


def test_a_queue_map_that_is_not_json_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"INTEGRATION_QUEUES: not a JSON object .*\(Expecting value\)"):
        FanoutSettings.from_env({**ENVIRONMENT, "INTEGRATION_QUEUES": "ticketfairy=url"})
