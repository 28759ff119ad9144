"""Effectively-once delivery under injected faults, end to end on the local runtime, for every enabled integration.

One runtime feeds all three integrations from one import.  TicketFairy's
stand-in fails about 20 % of calls with 503 and 5 % with 429 + Retry-After,
holds some answers beyond the client's timeout (after doing the work), rejects
a known set of poison events, and honours Idempotency-Key.  The webhook
receiver fails as often with 503 and 429, verifies every signature and drops
repeated message ids.  Radicale sits behind a proxy that fails some writes
with 503 or 429 + Retry-After and drops the answer to others after passing
them on (the write happened, the client never hears of it).  The runtime
delivers some messages twice and kills the functions' sandboxes between the
destination's answer and the record write.  Every valid event must end with
exactly one success record per integration, one draft at TicketFairy, one
applied message at the receiver and one calendar object in Radicale; nothing
may be lost.  One figure line per integration, and one for the runtime.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from infra.aws.store import DynamoStore
from infra.local.caldav import PASSWORD_PARAMETER, RadicaleServer
from infra.local.chaos import CHAOS_VARIABLE
from infra.local.destination import DraftEventsDestination, FaultPlan
from infra.local.runtime import LocalRuntime
from infra.local.webhook_receiver import ReceiverFaults, WebhookReceiver
from infra.pipeline.importer import import_events
from integrations.calendar.transformer import calendar_uid
from integrations.event_data import event_id_for
from integrations.records import SubmissionStatus
from tests.conftest import CALDAV_PASSWORD
from tests.e2e.caldav_proxy import FaultyCalDAVProxy, ProxyFaults, calendar_objects
from tests.e2e.conftest import API_KEY, WEBHOOK_SECRET, fast_template, runtime_store, start_runtime

pytestmark = pytest.mark.e2e

# Sized for a 2-core machine running the whole suite: 36 events for each of three integrations.
# Every destination draws its faults from a seeded sequence, one draw per request, and gets at least
# one request per event, so the first 36 draws alone set a floor whatever the threads' timing:
# TicketFairy's (seed 13) hold five 503s, three 429s and four timeouts in their first 30 (a timeout
# drawn for a poison event's request is answered as poison: one or two were no floor); the receiver's (seed 7)
# thirteen 503s and two 429s; the calendar proxy's (seed 7) eleven 503s, two 429s and two lost
# answers; each queue's duplicate draws (seed 0) one duplicate delivery.  Only the crashes are
# seeded per process (a restarted host must not replay its decisions): at 0.08 per successful
# submit, over at least 3 x 36 - 3 = 105 of them, a run with none (which the test rejects: it
# would prove nothing) is 0.92^105, about 1 in 6,000.
EVENTS = 36
POISON = {f"Fault test {n}" for n in (7, 24, 33)}
SERVICES = ("ticketfairy", "webhook", "calendar")
TERMINAL = {SubmissionStatus.SUCCESS, SubmissionStatus.FAILED}
#: The run's own deadline, well inside pytest's timeout: past it the test fails with its
#: figures so far instead of being killed mid-wait.
DEADLINE_SECONDS = 200


def events() -> list[dict[str, Any]]:
    cities = [("Berlin", "Germany"), ("London", "United Kingdom"), ("Tokyo", "Japan"), ("Chicago", "USA")]
    # Three shapes, for the calendar's sake: a night past midnight, a start only, a whole day (DATE values).
    times = [{"start": "22:00", "end": "04:00"}, {"start": "19:30"}, None]
    return [
        {
            "title": f"Fault test {n}",
            "venue": f"Venue {n % 17}",
            "date": f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}",
            "time": times[n % 3],
            "lineup": [f"Artist {n}", f"Artist {n + 1}"],
            "location": {"city": cities[n % 4][0], "country": cities[n % 4][1]},
            "source_url": f"https://faults.example.com/events/{n}",
        }
        for n in range(EVENTS)
    ]


@pytest.fixture
def caldav_proxy(radicale: RadicaleServer) -> Iterator[FaultyCalDAVProxy]:
    faults = ProxyFaults(seed=7, fail_503=0.15, fail_429=0.05, lost_answer=0.08, retry_after_seconds=1)
    with FaultyCalDAVProxy(radicale, faults) as proxy:
        yield proxy


def settled_count(store: DynamoStore) -> int:
    return sum(1 for service in SERVICES for status in TERMINAL for _ in store.submissions.event_ids(service, status))


def wait_for_outcomes(store: DynamoStore, started: float) -> None:
    """Wait until every event has a final record; past the deadline, fail saying how far it got."""
    while (settled := settled_count(store)) < EVENTS * len(SERVICES):
        elapsed = time.monotonic() - started
        if elapsed > DEADLINE_SECONDS:
            stuck = [
                f"{record.service}/{record.event_id}: {record.status.value} after {record.attempts} attempts"
                for service in SERVICES
                for record in store.submissions.records(service)
                if record.status not in TERMINAL
            ]
            pytest.fail(
                f"fault injection: {settled} of {EVENTS * len(SERVICES)} settled after {elapsed:.0f} s; "
                f"unsettled: {'; '.join(stuck[:10])}"
            )
        time.sleep(0.5)


def test_every_valid_event_is_delivered_exactly_once_under_faults(
    radicale: RadicaleServer, caldav_proxy: FaultyCalDAVProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    faults = FaultPlan(
        seed=13,
        fail_503=0.20,
        fail_429=0.05,
        delay_beyond_timeout=0.05,
        delay_seconds=2.0,
        retry_after_seconds=1,
        poison_titles=frozenset(POISON),
    )
    receiver_faults = ReceiverFaults(seed=7, fail_503=0.20, fail_429=0.05, retry_after_seconds=1)
    chaos = {CHAOS_VARIABLE: json.dumps({"crash_after_submit": 0.08, "seed": 11})}
    with (
        DraftEventsDestination(api_key=API_KEY, faults=faults) as destination,
        WebhookReceiver([WEBHOOK_SECRET], faults=receiver_faults) as receiver,
    ):
        template = fast_template(visibility_timeout=2, function_timeout=6)
        runtime: LocalRuntime = start_runtime(
            template,
            destination,
            # High enough that a valid event never exhausts its attempts by bad luck (0.3^20), nor on a
            # loaded machine, where slow invocations outlast the 2 s visibility and add receives: an attempt
            # that crashes on the last receive leaves its record unsettled.
            parameters={
                "MaxReceiveCount": "20",
                "CalendarUrl": caldav_proxy.calendar_url,
                "CalendarUsername": radicale.username,
            },
            submit_env={
                "TICKETFAIRY_TIMEOUT_SECONDS": "1",
                "WEBHOOK_TIMEOUT_SECONDS": "1",
                "CALENDAR_TIMEOUT_SECONDS": "2",
                **chaos,
            },
            duplicate_delivery_rate=0.05,
            receiver=receiver,
        )
        try:
            runtime.put_secure_parameter(PASSWORD_PARAMETER, CALDAV_PASSWORD)
            store = runtime_store(runtime)
            assert set(runtime.integrations()) == set(SERVICES)  # those the fan-out feeds: enabled, and deployed
            started = time.monotonic()
            report = import_events(store.events, [(str(n), event) for n, event in enumerate(events())])
            assert len(report.outcomes) == EVENTS
            wait_for_outcomes(store, started)
            remaining = DEADLINE_SECONDS + 30 - (time.monotonic() - started)
            assert runtime.wait_until_drained(timeout=max(5.0, remaining)), "queues not drained within the deadline"
            elapsed = time.monotonic() - started

            lost: Counter[str] = Counter()
            retries: Counter[str] = Counter()
            for service in SERVICES:
                records = {record.event_id: record for record in store.submissions.records(service)}
                for event in events():
                    record = records.get(event_id_for(event["source_url"]))
                    retries[service] += (record.attempts - 1) if record else 0
                    if service == "ticketfairy" and event["title"] in POISON:
                        # Poison events fail for good at TicketFairy, with its own reason; the others take them.
                        assert record is not None
                        assert record.status is SubmissionStatus.FAILED, event["title"]
                        assert "rejected" in (record.last_error or ""), record.last_error
                    elif record is None or record.status is not SubmissionStatus.SUCCESS:
                        lost[service] += 1
                    else:
                        assert record.remote_id is not None

            creates = Counter(request.body["data"]["attributes"]["title"] for request in destination.accepted_creates())
            for title in (event["title"] for event in events()):
                assert creates[title] == (0 if title in POISON else 1), f"{title} created {creates[title]}x"
            # The receiver applied each event once: one accepted message per event, every signature verified.
            applied = Counter(message.body["data"]["event"]["title"] for message in receiver.messages())
            assert applied == Counter(event["title"] for event in events())
            received = receiver.counts()
            assert received.get("invalid", 0) == 0

            # Nothing is left in any queue, dead-letter queues included.
            for logical_id, resource in template["Resources"].items():
                if resource["Type"] == "AWS::SQS::Queue" and logical_id in runtime.stack.resources:  # deployed
                    assert runtime.queue_depth(runtime.queue_url(logical_id)) == 0, logical_id

            crashes = sum(source.stats.function_errors for source in runtime.queue_sources)
            duplicates = sum(source.stats.duplicates_injected for source in runtime.queue_sources)
        finally:
            runtime.stop()

    # One calendar object per event, read back through CalDAV: a retried or repeated PUT replaced it,
    # never added one.  (The session's Radicale may hold other tests' events: only ours are counted.)
    shown = radicale.events()
    objects = calendar_objects(radicale)
    for event in events():
        uid = calendar_uid(event_id_for(event["source_url"]))
        assert objects[uid] == 1, f"{event['title']}: {objects[uid]} calendar objects"
        assert str(shown[uid]["SUMMARY"]) == event["title"]

    injected = destination.fault_counts()
    replays = destination.counters().get("replayed", 0)
    proxied = caldav_proxy.injected
    assert injected["fail_503"] > 0
    assert injected["fail_429"] > 0
    assert injected["delay_beyond_timeout"] > 0
    assert received.get("fail_503", 0) > 0
    assert received.get("fail_429", 0) > 0
    assert proxied["503"] > 0
    assert proxied["429"] > 0
    assert proxied["lost_answer"] > 0
    assert duplicates > 0
    assert crashes > 0, "no sandbox crashed between the answer and the record write"
    figures = [
        f"fault injection [ticketfairy]: events={EVENTS} "
        f"faults(503={injected['fail_503']} 429={injected['fail_429']} "
        f"timeouts={injected['delay_beyond_timeout']} poison={injected['poison']}) "
        f"retries={retries['ticketfairy']} replayed_at_destination={replays} "
        f"lost={lost['ticketfairy']} seconds={elapsed:.1f}",
        f"fault injection [webhook]: events={EVENTS} "
        f"faults(503={received.get('fail_503', 0)} 429={received.get('fail_429', 0)}) "
        f"retries={retries['webhook']} duplicates_dropped_by_receiver={received.get('duplicate', 0)} "
        f"signatures_verified={received.get('accepted', 0) + received.get('duplicate', 0)} "
        f"cut_short_by_sender={received.get('incomplete', 0)} "
        f"lost={lost['webhook']} seconds={elapsed:.1f}",
        f"fault injection [calendar]: events={EVENTS} "
        f"faults(503={proxied['503']} 429={proxied['429']} lost_answers={proxied['lost_answer']}) "
        f"retries={retries['calendar']} lost={lost['calendar']} seconds={elapsed:.1f}",
        f"fault injection [runtime]: crashes={crashes} duplicate_deliveries={duplicates}",
    ]
    assert sum(lost.values()) == 0, figures
    with capsys.disabled():  # the figures belong in every run's output, not only a failing one's
        print("\n" + "\n".join(figures))
