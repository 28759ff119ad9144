"""Shared fixtures: a sealed AWS environment, and moto deployments of template.yaml."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import botocore.loaders
import botocore.session
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from infra import runtime
from infra.aws.stack import Stack, deploy, optional_integrations_on
from infra.local.caldav import RadicaleServer
from infra.local.motolock import serialise_in_process
from infra.local.motospeed import speed_up_moto
from integrations import registry

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
#: The user and password of the tests' Radicale (htpasswd, as a deployed CalDAV server would ask).
CALDAV_USER = "importer"
CALDAV_PASSWORD = "caldav-test-password-5f2a"

# The pipeline writes concurrently (batched import, fan-out's placeholders); moto's DynamoDB is not
# thread-safe (two writes in flight can share a stream sequence number), as DynamoDB itself is.
serialise_in_process()
# In-process moto runs as the local server does, without its per-request costs (none changes an answer).
speed_up_moto()

# Every test makes new botocore sessions (caches cleared, a fresh moto), and each session's loader
# would parse the service models and endpoint data it uses again (about 0.3 s of JSON per test).
# The files never change during a run: one loader per search path serves them all.
botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow modules first, then end-to-end ones: xdist hands out whole files in this order, and a long
    file handed out last would run alone at the end while the other workers idle."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("slow") else 1 if item.get_closest_marker("e2e") else 2)


@pytest.fixture(autouse=True)
def sealed_aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials, no real endpoints, and fresh per-process caches for every test."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    # moto answers DynamoDB Streams only at the regional endpoint (see DESIGN.md).
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    runtime.reset()
    registry.clear_cache()
    parameters.clear_caches()  # type: ignore[no-untyped-call]  # Powertools caches secrets per process: one test's key must not leak
    yield
    runtime.reset()
    parameters.clear_caches()  # type: ignore[no-untyped-call]


@pytest.fixture(autouse=True)
def private_state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test finds a local runtime this machine runs (``event-importer local`` in a terminal) by accident."""
    monkeypatch.setenv("EVENT_IMPORTER_STATE_DIR", str(tmp_path_factory.getbasetemp() / "runtime-state"))
    monkeypatch.delenv("EVENT_IMPORTER_DEBUG", raising=False)


@pytest.fixture
def aws() -> Iterator[None]:
    """In-process moto for every AWS service."""
    with mock_aws():
        yield


@pytest.fixture
def deployment(aws: None) -> Stack:
    """template.yaml deployed as ``sam deploy`` would, on in-process moto (a fresh stack per test)."""
    return deploy("test", region=REGION)


@pytest.fixture
def full_deployment(aws: None) -> Stack:
    """template.yaml deployed with every optional integration switched on (a fresh stack per test)."""
    return deploy("test", region=REGION, parameters=optional_integrations_on())


@pytest.fixture(scope="session")
def radicale() -> Iterator[RadicaleServer]:
    """A real CalDAV server (Radicale) on loopback, with one user and one calendar, for the whole session."""
    with RadicaleServer(username=CALDAV_USER, password=CALDAV_PASSWORD) as server:
        yield server
