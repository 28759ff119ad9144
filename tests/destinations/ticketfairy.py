"""TicketFairy's contract destination: its draft-events API under respx."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from infra.aws.secrets import resolve_secret
from integrations.base import BaseSubmitter
from integrations.ports import Store
from integrations.registry import get_integration
from integrations.ticketfairy.config import TicketFairyConfig
from tests.scripted_destination import CallKind, HttpScriptedDestination

BASE_URL = "https://tf.contract.test"
API_KEY = "tf_contract_key_never_shown_1234"


def _kind(request: httpx.Request) -> CallKind:
    return {"POST": "create", "PATCH": "update", "DELETE": "delete"}[request.method]  # type: ignore[return-value]


def _build(store: Store) -> BaseSubmitter:
    config = TicketFairyConfig(base_url=BASE_URL, api_key=SecretStr(API_KEY), timeout_seconds=2)
    return get_integration("ticketfairy").create_submitter(store, config, resolve_secret)


def contract_destination() -> HttpScriptedDestination:
    return HttpScriptedDestination(
        url_pattern=rf"^{BASE_URL}/api/draft-events",
        secrets=[API_KEY],
        build=_build,
        kind_of=_kind,
        ok_body=lambda request, n: {"data": {"id": f"draft-{n}", "type": "draft-events"}},
    )
