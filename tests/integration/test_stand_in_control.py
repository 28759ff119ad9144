"""The stand-in destination's control route, which ``event-importer stand-in break|fix`` drives."""

from __future__ import annotations

import json

import httpx

from infra.local.destination import DRAFT_EVENTS_PATH, FAULTS_PATH, DraftEventsDestination

KEY = "control-key"
DRAFT = {"data": {"attributes": {"title": "Control"}}}


def create(base_url: str) -> int:
    answer = httpx.post(base_url + DRAFT_EVENTS_PATH, json=DRAFT, headers={"Authorization": f"Bearer {KEY}"})
    return answer.status_code


def test_break_and_fix_through_the_control_route_which_is_never_recorded() -> None:
    with DraftEventsDestination(api_key=KEY) as destination:
        url = destination.base_url + FAULTS_PATH
        broken = httpx.put(url, json={"fail_503": 1.0})
        assert broken.status_code == 200
        assert broken.json()["fail_503"] == 1.0
        assert create(destination.base_url) == 503

        assert httpx.delete(url).json()["fail_503"] == 0.0
        assert create(destination.base_url) == 201
        assert httpx.get(url).json()["fail_429"] == 0.0

        assert [request.outcome for request in destination.received()] == ["fail_503", "created"]


def test_the_control_route_refuses_what_is_not_a_fault_plan() -> None:
    with DraftEventsDestination(api_key=KEY) as destination:
        url = destination.base_url + FAULTS_PATH
        assert httpx.put(url, json={"explode": True}).status_code == 400
        assert httpx.put(url, content=b"not json").status_code == 400
        invalid = httpx.put(url, json={"fail_503": 2})
        assert invalid.status_code == 400
        assert "probability" in json.dumps(invalid.json())
        assert httpx.patch(url).status_code == 405
