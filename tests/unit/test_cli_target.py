"""Which deployment a command talks to: explicit options, else the running local runtime, else AWS configuration."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from infra.interfaces.target import TargetError, resolve
from infra.local.state import RuntimeState, write_state

LOCAL = "http://127.0.0.1:5123"


@pytest.fixture
def running(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RuntimeState:
    """A local runtime, as far as its state file tells (this process stands in for it)."""
    monkeypatch.setenv("EVENT_IMPORTER_STATE_DIR", str(tmp_path))
    state = RuntimeState(
        pid=os.getpid(),
        endpoint_url=LOCAL,
        region="eu-central-1",
        stack="walkthrough",
        destination_url="http://127.0.0.1:6000",
        started_at=dt.datetime.now(dt.UTC),
    )
    write_state(state)
    return state


@pytest.fixture
def no_aws_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_the_running_local_runtime_needs_no_options_and_no_aws_set_up(
    running: RuntimeState, no_aws_configuration: None
) -> None:
    target = resolve(stack=None, endpoint_url=None, profile=None, region=None)

    assert (target.endpoint_url, target.region, target.stack) == (LOCAL, "eu-central-1", "walkthrough")
    assert target.dummy_credentials
    credentials = target.botocore_session().get_credentials()
    assert credentials is not None
    assert credentials.access_key == "local"
    assert target.describe().startswith(f"target: stack walkthrough on endpoint {LOCAL} (eu-central-1; local runtime")


def test_an_explicit_endpoint_wins_and_works_without_credentials(
    running: RuntimeState, no_aws_configuration: None
) -> None:
    target = resolve(stack=None, endpoint_url="http://127.0.0.1:9999", profile=None, region=None)

    assert target.endpoint_url == "http://127.0.0.1:9999"
    assert (target.region, target.stack) == ("us-east-1", "local")  # not the state file's runtime
    assert target.dummy_credentials
    assert "--endpoint-url" in target.describe()


def test_the_endpoint_of_the_running_runtime_takes_its_region_and_stack(running: RuntimeState) -> None:
    target = resolve(stack=None, endpoint_url=LOCAL, profile=None, region=None)
    assert (target.region, target.stack) == ("eu-central-1", "walkthrough")


def test_an_explicit_region_or_profile_means_aws_even_with_a_local_runtime(
    running: RuntimeState, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    by_region = resolve(stack="prod", endpoint_url=None, profile=None, region="ap-southeast-2")
    assert (by_region.endpoint_url, by_region.region, by_region.stack) == (None, "ap-southeast-2", "prod")
    assert not by_region.dummy_credentials

    config = tmp_path / "config"
    config.write_text("[profile ops]\nregion = sa-east-1\naws_access_key_id = AK\naws_secret_access_key = SK\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):  # as in the SDKs, they would outrank the profile's
        monkeypatch.delenv(name)
    by_profile = resolve(stack=None, endpoint_url=None, profile="ops", region=None)
    assert (by_profile.endpoint_url, by_profile.region, by_profile.profile) == (None, "sa-east-1", "ops")
    assert "profile ops" in by_profile.describe()


def test_aws_configuration_is_used_when_nothing_runs_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")  # which botocore alone would ignore
    target = resolve(stack=None, endpoint_url=None, profile=None, region=None)
    assert (target.endpoint_url, target.region, target.stack) == (None, "eu-west-3", "local")
    assert "AWS configuration" in target.describe()


def test_missing_aws_configuration_says_what_to_set(
    no_aws_configuration: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(TargetError, match="no AWS region: pass --region or set AWS_REGION"):
        resolve(stack=None, endpoint_url=None, profile=None, region=None)
    with pytest.raises(TargetError, match="no AWS credentials"):
        resolve(stack=None, endpoint_url=None, profile=None, region="eu-west-1")
    with pytest.raises(TargetError, match="check --profile"):
        resolve(stack=None, endpoint_url=None, profile="nobody", region=None)
