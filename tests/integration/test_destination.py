"""The loopback draft-events destination: API behaviour, idempotency, fault injection and a clean stop.

These tests use real sockets on 127.0.0.1: the destination exists to be a real HTTP peer.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from infra.local.destination import REDACTED, DraftEventsDestination, FaultPlan

API_KEY = "tf_local_demo_key_do_not_log"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
PATH = "/api/draft-events"


def payload(title: str = "Night Shift", **attributes: Any) -> dict[str, Any]:
    return {"data": {"attributes": {"title": title, "status": "draft", **attributes}}}


@pytest.fixture
def destination() -> Iterator[DraftEventsDestination]:
    with DraftEventsDestination(API_KEY) as running:
        yield running


@pytest.fixture
def http(destination: DraftEventsDestination) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=destination.base_url, headers=AUTH, timeout=5.0) as client:
        yield client


def create(http: httpx.Client, title: str = "Night Shift", *, key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return http.post(PATH, json=payload(title), headers=headers)


# -- the API -------------------------------------------------------------------------


def test_start_binds_loopback_on_a_free_port_and_is_idempotent(destination: DraftEventsDestination) -> None:
    url = destination.base_url

    assert url.startswith("http://127.0.0.1:")
    assert int(url.rsplit(":", 1)[1]) > 0
    assert destination.start() == url


def test_create_answers_201_with_a_json_api_resource(destination: DraftEventsDestination, http: httpx.Client) -> None:
    response = http.post(PATH, json=payload("Night Shift", venue="Kesselhaus"))

    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "data": {
            "id": "1",
            "type": "draft-events",
            "attributes": {"title": "Night Shift", "status": "draft", "venue": "Kesselhaus"},
        }
    }
    assert destination.drafts() == {"1": {"title": "Night Shift", "status": "draft", "venue": "Kesselhaus"}}
    assert create(http, "Second").json()["data"]["id"] == "2"


def test_received_requests_are_recorded_with_the_api_key_redacted(
    destination: DraftEventsDestination, http: httpx.Client
) -> None:
    create(http, key="ticketfairy:abc:1")

    [request] = destination.received()
    assert (request.method, request.path, request.status, request.outcome) == ("POST", PATH, 201, "created")
    assert request.body == payload()
    assert request.draft_id == "1"
    assert request.headers["Authorization"] == REDACTED
    assert request.headers["Idempotency-Key"] == "ticketfairy:abc:1"
    assert API_KEY not in repr(destination.received())
    assert destination.accepted_creates() == [request]
    assert destination.counters() == {"created": 1}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": API_KEY}])
def test_a_wrong_or_missing_api_key_gets_401_and_creates_nothing(
    destination: DraftEventsDestination, headers: dict[str, str]
) -> None:
    response = httpx.post(destination.base_url + PATH, json=payload(), headers=headers, timeout=5.0)

    assert response.status_code == 401
    assert response.json() == {"errors": [{"detail": "invalid API key"}]}
    assert destination.accepted_creates() == []
    assert destination.counters() == {"unauthorized": 1}


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"{not json", "request body is not valid JSON"),
        (b"", "request body is empty"),
        (b'{"data": {"attributes": {"venue": "x"}}}', "title is required"),
        (b'{"data": {"attributes": {"title": "  "}}}', "title is required"),
        (b'{"data": {}}', "data.attributes must be an object"),
        (b"[1, 2]", "data.attributes must be an object"),
    ],
)
def test_a_malformed_body_gets_400_saying_what_is_wrong(
    destination: DraftEventsDestination, http: httpx.Client, content: bytes, detail: str
) -> None:
    response = http.post(PATH, content=content, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["detail"] == detail
    assert destination.drafts() == {}
    assert destination.counters() == {"invalid": 1}


def test_a_repeated_idempotency_key_replays_the_same_response_and_creates_once(
    destination: DraftEventsDestination, http: httpx.Client
) -> None:
    first = create(http, key="ticketfairy:evt:hash1")
    again = create(http, "A different title", key="ticketfairy:evt:hash1")
    other = create(http, key="ticketfairy:evt:hash2")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert other.json()["data"]["id"] != first.json()["data"]["id"]
    assert [request.draft_id for request in destination.accepted_creates()] == ["1", "2"]
    assert destination.counters() == {"created": 2, "replayed": 1}


def test_concurrent_requests_with_one_key_create_one_draft(destination: DraftEventsDestination) -> None:
    def send() -> str:
        with httpx.Client(base_url=destination.base_url, headers=AUTH, timeout=5.0) as client:
            return str(create(client, key="same-key").json()["data"]["id"])

    ids: list[str] = []
    threads = [threading.Thread(target=lambda: ids.append(send())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert ids == ["1"] * 8
    assert len(destination.accepted_creates()) == 1


def test_patch_updates_and_delete_removes_a_draft(destination: DraftEventsDestination, http: httpx.Client) -> None:
    draft_id = create(http).json()["data"]["id"]

    updated = http.patch(f"{PATH}/{draft_id}", json={"data": {"attributes": {"venue": "Docks 21"}}})
    deleted = http.delete(f"{PATH}/{draft_id}")

    assert updated.status_code == 200
    assert updated.json()["data"] == {
        "id": draft_id,
        "type": "draft-events",
        "attributes": {"title": "Night Shift", "status": "draft", "venue": "Docks 21"},
    }
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert destination.drafts() == {}
    assert destination.counters() == {"created": 1, "updated": 1, "deleted": 1}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("PATCH", f"{PATH}/999", 404),
        ("DELETE", f"{PATH}/999", 404),
        ("POST", "/api/other", 404),
        ("GET", PATH, 405),
        ("POST", f"{PATH}/1", 405),
    ],
)
def test_unknown_drafts_and_routes_are_refused(http: httpx.Client, method: str, path: str, status: int) -> None:
    response = http.request(method, path, json={"data": {"attributes": {"title": "x"}}})

    assert response.status_code == status
    assert response.json()["errors"][0]["detail"]


def test_a_deleted_draft_is_gone(http: httpx.Client) -> None:
    draft_id = create(http).json()["data"]["id"]
    http.delete(f"{PATH}/{draft_id}")

    assert http.delete(f"{PATH}/{draft_id}").status_code == 404
    assert http.patch(f"{PATH}/{draft_id}", json={"data": {"attributes": {}}}).status_code == 404


# -- faults ----------------------------------------------------------------------------


def statuses(destination: DraftEventsDestination, count: int) -> list[int]:
    with httpx.Client(base_url=destination.base_url, headers=AUTH, timeout=5.0) as client:
        return [create(client, f"Event {number}").status_code for number in range(count)]


def test_fault_probabilities_are_roughly_respected_counted_and_reproducible() -> None:
    plan = FaultPlan(seed=7, fail_503=0.2, fail_429=0.1, delay_beyond_timeout=0.1, delay_seconds=0.0)

    with DraftEventsDestination(API_KEY, plan) as destination:
        seen = statuses(destination, 200)
        counts = destination.fault_counts()
    with DraftEventsDestination(API_KEY, plan) as same_seed:
        repeated = statuses(same_seed, 200)

    by_status = Counter(seen)
    assert 25 <= counts["fail_503"] <= 55
    assert 8 <= counts["fail_429"] <= 35
    assert 8 <= counts["delay_beyond_timeout"] <= 35
    assert counts["poison"] == 0
    assert by_status[503] == counts["fail_503"]
    assert by_status[429] == counts["fail_429"]
    assert by_status[201] == 200 - counts["fail_503"] - counts["fail_429"]
    assert len(destination.accepted_creates()) == by_status[201]
    assert repeated == seen


def test_a_429_carries_the_configured_retry_after() -> None:
    with DraftEventsDestination(API_KEY, FaultPlan(fail_429=1.0, retry_after_seconds=3)) as destination:
        response = httpx.post(destination.base_url + PATH, json=payload(), headers=AUTH, timeout=5.0)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json()["errors"][0]["detail"].startswith("rate limit exceeded")


def test_a_poison_title_is_always_rejected(destination: DraftEventsDestination, http: httpx.Client) -> None:
    destination.set_faults(FaultPlan(poison_titles={"Cursed Night"}))
    draft_id = create(http, "Fine Night").json()["data"]["id"]

    answers = [create(http, "Cursed Night", key="poison-key") for _ in range(5)]
    renamed = http.patch(f"{PATH}/{draft_id}", json=payload("Cursed Night"))

    for response in [*answers, renamed]:
        assert response.status_code == 400
        assert response.json()["errors"][0]["detail"].startswith("rejected: ")
    assert destination.fault_counts()["poison"] == 6
    assert [request.draft_id for request in destination.accepted_creates()] == [draft_id]


def test_a_replay_of_a_stored_success_is_never_faulted(destination: DraftEventsDestination, http: httpx.Client) -> None:
    first = create(http, key="done-key")
    destination.set_faults(FaultPlan(fail_503=1.0))

    replay = create(http, key="done-key")
    fresh = create(http, key="new-key")

    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert fresh.status_code == 503
    assert destination.fault_counts()["fail_503"] == 1


def test_a_delayed_answer_times_the_client_out_but_the_draft_exists_and_a_retry_replays_it(
    destination: DraftEventsDestination,
) -> None:
    destination.set_faults(FaultPlan(delay_beyond_timeout=1.0, delay_seconds=0.5))

    with (
        httpx.Client(base_url=destination.base_url, headers=AUTH, timeout=0.1) as impatient,
        pytest.raises(httpx.ReadTimeout),
    ):
        create(impatient, key="slow-key")
    with httpx.Client(base_url=destination.base_url, headers=AUTH, timeout=5.0) as client:
        retry = create(client, key="slow-key")

    assert retry.status_code == 201
    assert retry.json()["data"]["id"] == "1"
    assert len(destination.accepted_creates()) == 1
    assert destination.fault_counts()["delay_beyond_timeout"] == 1


def test_a_delayed_request_does_not_block_a_concurrent_fast_one(destination: DraftEventsDestination) -> None:
    destination.set_faults(FaultPlan(delay_beyond_timeout=1.0, delay_seconds=2.0))
    slow_statuses: list[int] = []
    slow = threading.Thread(
        target=lambda: slow_statuses.append(
            httpx.post(destination.base_url + PATH, json=payload("Slow"), headers=AUTH, timeout=5.0).status_code
        )
    )
    slow.start()
    wait_until(lambda: len(destination.received()) == 1)
    destination.set_faults(None)

    started = time.monotonic()
    fast = httpx.post(destination.base_url + PATH, json=payload("Fast"), headers=AUTH, timeout=5.0)
    fast_seconds = time.monotonic() - started

    assert fast.status_code == 201
    assert fast_seconds < 1.0
    assert slow.is_alive()
    slow.join(timeout=5.0)
    assert slow_statuses == [201]


def test_fault_plan_rejects_impossible_probabilities() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultPlan(fail_503=1.5)
    with pytest.raises(ValueError, match="at most 1"):
        FaultPlan(fail_503=0.6, fail_429=0.6)
    with pytest.raises(ValueError, match="must not be negative"):
        FaultPlan(delay_seconds=-1)


# -- stopping --------------------------------------------------------------------------


def test_stop_frees_the_port_and_leaves_no_thread() -> None:
    before = set(threading.enumerate())
    destination = DraftEventsDestination(API_KEY, FaultPlan(delay_beyond_timeout=1.0, delay_seconds=30.0))
    url = destination.start()
    port = int(url.rsplit(":", 1)[1])
    in_flight = threading.Thread(target=lambda: post_ignoring_errors(url))
    in_flight.start()
    wait_until(lambda: len(destination.received()) == 1)

    started = time.monotonic()
    destination.stop()
    destination.stop()  # idempotent
    in_flight.join(timeout=5.0)

    assert time.monotonic() - started < 5.0, "stop() must cut a delayed answer short"
    assert set(threading.enumerate()) <= before
    with pytest.raises(RuntimeError):
        _ = destination.base_url
    with pytest.raises(httpx.ConnectError):
        httpx.post(url + PATH, json=payload(), headers=AUTH, timeout=1.0)
    # SO_REUSEADDR as any server would set it: closed connections may linger in TIME_WAIT, listeners may not.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))
        again.listen()


def test_a_stopped_destination_can_start_again_and_keeps_its_records() -> None:
    destination = DraftEventsDestination(API_KEY)
    with destination:
        httpx.post(destination.base_url + PATH, json=payload(), headers=AUTH, timeout=5.0)
    with destination:
        response = httpx.post(destination.base_url + PATH, json=payload(), headers=AUTH, timeout=5.0)

    assert response.json()["data"]["id"] == "2"
    assert len(destination.accepted_creates()) == 2


def test_an_empty_api_key_is_refused() -> None:
    with pytest.raises(ValueError, match="api_key"):
        DraftEventsDestination("")


def post_ignoring_errors(url: str) -> None:
    # The server is stopping under it: a dropped connection is the expected outcome.
    with contextlib.suppress(httpx.HTTPError):
        httpx.post(url + PATH, json=payload(), headers=AUTH, timeout=10.0)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)
