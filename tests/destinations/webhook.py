"""The webhook's contract destination: a Standard Webhooks endpoint under respx."""

from __future__ import annotations

import json

import httpx
from pydantic import SecretStr

from infra.aws.secrets import resolve_secret
from integrations.base import BaseSubmitter
from integrations.ports import Store
from integrations.registry import get_integration
from integrations.webhook.config import WebhookConfig
from tests.scripted_destination import CallKind, HttpScriptedDestination

URL = "https://hooks.contract.test/events"
SECRET = "whsec_Y29udHJhY3Qtc3VpdGUtc2lnbmluZy1zZWNyZXQ="
NEXT_SECRET = "whsec_bmV4dC1jb250cmFjdC1zaWduaW5nLXNlY3JldA=="


def _kind(request: httpx.Request) -> CallKind:
    kinds: dict[str, CallKind] = {"event.created": "create", "event.updated": "update", "event.removed": "delete"}
    return kinds[json.loads(request.content)["type"]]


def _build(store: Store) -> BaseSubmitter:
    config = WebhookConfig(url=URL, secret=SecretStr(f"{SECRET} {NEXT_SECRET}"), timeout_seconds=2)
    return get_integration("webhook").create_submitter(store, config, resolve_secret)


def contract_destination() -> HttpScriptedDestination:
    return HttpScriptedDestination(
        url_pattern=rf"^{URL}$",
        secrets=[SECRET, NEXT_SECRET],
        build=_build,
        kind_of=_kind,
        ok_body=lambda request, n: {},
    )
