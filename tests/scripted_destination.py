"""Scripted destinations for the contract suite (``tests/integration/test_contract.py``).

A ``ScriptedDestination`` builds an integration's submitter pointed at a
destination that answers each call as the test scripts it (``Answer``), and
records each call with its kind (create, update, delete).  Plain HTTP+JSON
integrations use ``HttpScriptedDestination`` (respx, no sockets); an
integration that speaks something else (CalDAV, ...) supplies its own class.

Each integration names its destination in ``tests/destinations/<name>.py``
with a ``contract_destination()`` function; the suite fails for a registered
integration that has none.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Protocol

import httpx
import pytest
import respx
from moto import mock_aws

from infra.aws.settings import TableSettings
from infra.aws.stack import deploy
from infra.aws.store import DynamoStore
from integrations.base import BaseSubmitter
from integrations.env import load_env_model
from integrations.ports import Store

CallKind = Literal["create", "update", "delete"]


class Answer(StrEnum):
    """How the destination answers one call: every failure class a client must map."""

    OK = "ok"  # 2xx with the destination's id for the event
    OK_WITHOUT_ID = "ok_without_id"  # 2xx whose body carries no id
    CONNECT_ERROR = "connect_error"
    TIMEOUT = "timeout"
    SERVER_ERROR = "server_error"  # 503
    THROTTLED = "throttled"  # 429 with Retry-After: RETRY_AFTER_SECONDS
    REJECTED = "rejected"  # 422, the body echoing the integration's secret


RETRY_AFTER_SECONDS = 7


@dataclass(frozen=True)
class Call:
    kind: CallKind
    body: Any


class ScriptedDestination(Protocol):
    """What the contract suite needs from a destination."""

    #: Every secret the integration holds: none may appear in an error or a record.
    secrets: list[str]

    def submitter(self, store: Store) -> BaseSubmitter:
        """The integration's submitter, configured for this destination."""
        ...

    def active(self) -> Any:
        """A context manager during which the destination answers (respx mock, a server, ...)."""
        ...

    def script(self, *answers: Answer) -> None:
        """The next calls' answers, in order; once used up, every call is answered ``OK``."""
        ...

    @property
    def calls(self) -> list[Call]:
        """The calls received, in order."""
        ...


class HttpScriptedDestination:
    """A plain HTTP+JSON destination under respx: ``build`` makes the submitter, ``kind_of`` names a request."""

    def __init__(
        self,
        *,
        url_pattern: str,
        secrets: list[str],
        build: Callable[[Store], BaseSubmitter],
        kind_of: Callable[[httpx.Request], CallKind],
        ok_body: Callable[[httpx.Request, int], Any],
    ) -> None:
        self.url_pattern = url_pattern
        self.secrets = secrets
        self._build = build
        self._kind_of = kind_of
        self._ok_body = ok_body
        self._script: list[Answer] = []
        self._calls: list[Call] = []

    def submitter(self, store: Store) -> BaseSubmitter:
        return self._build(store)

    def script(self, *answers: Answer) -> None:
        self._script = list(answers)

    @property
    def calls(self) -> list[Call]:
        return list(self._calls)

    @contextmanager
    def active(self) -> Iterator[respx.MockRouter]:
        with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
            router.route(url__regex=self.url_pattern).mock(side_effect=self._answer)
            yield router

    def _answer(self, request: httpx.Request) -> httpx.Response:
        import json

        try:
            body = json.loads(request.content) if request.content else None
        except ValueError:
            body = request.content
        self._calls.append(Call(self._kind_of(request), body))
        answer = self._script.pop(0) if self._script else Answer.OK
        if answer is Answer.CONNECT_ERROR:
            raise httpx.ConnectError("connection refused", request=request)
        if answer is Answer.TIMEOUT:
            raise httpx.ReadTimeout("timed out", request=request)
        if answer is Answer.SERVER_ERROR:
            return httpx.Response(503, json={"error": "busy"})
        if answer is Answer.THROTTLED:
            return httpx.Response(429, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        if answer is Answer.REJECTED:
            return httpx.Response(422, json={"message": f"invalid request signed with {' '.join(self.secrets)}"})
        if answer is Answer.OK_WITHOUT_ID:
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(200, json=self._ok_body(request, len(self._calls)))


def destination_for(name: str) -> ScriptedDestination:
    """The contract destination that ``tests/destinations/<name>.py`` declares (``contract_destination()``)."""
    module_name = f"tests.destinations.{name}"
    if importlib.util.find_spec(module_name) is None:
        raise LookupError(
            f"integration {name!r} has no contract destination: add tests/destinations/{name}.py "
            "with contract_destination() (see tests/scripted_destination.py)"
        )
    factory: Callable[[], ScriptedDestination] = importlib.import_module(module_name).contract_destination
    return factory()


def module_store(stack_name: str, region: str = "us-east-1") -> Iterator[DynamoStore]:
    """The tables of one moto deployment of template.yaml, for a module whose tests each import their own events."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": region,
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }.items():
            env.setenv(name, value)
        with mock_aws():
            stack = deploy(stack_name, region=region)
            yield DynamoStore(load_env_model(TableSettings, stack.env("FanoutFunction")))
