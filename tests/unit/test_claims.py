"""The claim decision: who may submit which version, and when."""

from __future__ import annotations

import datetime as dt

import pytest

from infra.aws.store import decide_claim
from integrations.ports import ClaimOutcome
from integrations.records import SubmissionRecord, SubmissionStatus

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def record(
    status: SubmissionStatus, *, data_hash: str = "h1", version: int = 1, lease_s: float | None = None
) -> SubmissionRecord:
    lease = NOW + dt.timedelta(seconds=lease_s) if lease_s is not None else None
    return SubmissionRecord("e1", "svc", status, data_hash=data_hash, version=version, lease_until=lease)


@pytest.mark.parametrize(
    ("current", "data_hash", "version", "expected"),
    [
        (None, "h1", 1, ClaimOutcome.CLAIMED),
        (record(SubmissionStatus.SUCCESS), "h1", 1, ClaimOutcome.ALREADY_SUBMITTED),
        (record(SubmissionStatus.SUCCESS), "h2", 2, ClaimOutcome.CLAIMED),
        (record(SubmissionStatus.SUCCESS, data_hash="h2", version=2), "h1", 1, ClaimOutcome.SUPERSEDED),
        (record(SubmissionStatus.IN_PROGRESS, lease_s=30), "h1", 1, ClaimOutcome.BUSY),
        (record(SubmissionStatus.IN_PROGRESS, lease_s=-1), "h1", 1, ClaimOutcome.CLAIMED),
        (record(SubmissionStatus.PENDING), "h1", 1, ClaimOutcome.CLAIMED),
        (record(SubmissionStatus.FAILED), "h1", 1, ClaimOutcome.CLAIMED),
    ],
    ids=[
        "new",
        "duplicate",
        "changed",
        "older-version",
        "live-claim",
        "expired-claim",
        "retry",
        "redrive-after-failure",
    ],
)
def test_decide_claim(current: SubmissionRecord | None, data_hash: str, version: int, expected: ClaimOutcome) -> None:
    assert decide_claim(current, data_hash=data_hash, version=version, now=NOW) is expected


FIRST = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SECOND = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


def removed(incarnation: dt.datetime, version: int) -> SubmissionRecord:
    return SubmissionRecord(
        "e1", "svc", SubmissionStatus.SUCCESS, data_hash="removed:h", version=version, incarnation=incarnation
    )


def test_an_event_imported_again_after_its_removal_is_not_fenced_off() -> None:
    # The cache's version counter restarts at 1 for the new item; its later incarnation wins.
    outcome = decide_claim(removed(FIRST, 3), data_hash="h", version=1, now=NOW, incarnation=SECOND)
    assert outcome is ClaimOutcome.CLAIMED


def test_a_late_delivery_from_before_the_removal_is_still_fenced_off() -> None:
    outcome = decide_claim(removed(FIRST, 3), data_hash="h", version=2, now=NOW, incarnation=FIRST)
    assert outcome is ClaimOutcome.SUPERSEDED


def test_a_late_removal_of_the_previous_incarnation_is_fenced_off() -> None:
    current = SubmissionRecord("e1", "svc", SubmissionStatus.SUCCESS, data_hash="h", version=1, incarnation=SECOND)
    outcome = decide_claim(current, data_hash="removed:h", version=3, now=NOW, incarnation=FIRST)
    assert outcome is ClaimOutcome.SUPERSEDED


def test_idempotency_keys_differ_per_incarnation_version_and_content() -> None:
    from integrations.base import idempotency_key
    from integrations.records import CachedEvent

    first = CachedEvent("e1", {}, "aaaa" * 16, version=1, incarnation=FIRST)
    keys = {
        idempotency_key(first, "svc"),
        idempotency_key(CachedEvent("e1", {}, "aaaa" * 16, version=1, incarnation=SECOND), "svc"),  # re-imported
        idempotency_key(CachedEvent("e1", {}, "aaaa" * 16, version=3, incarnation=FIRST), "svc"),  # reverted
        idempotency_key(CachedEvent("e1", {}, "bbbb" * 16, version=2, incarnation=FIRST), "svc"),
        idempotency_key(first, "other"),
    }
    assert len(keys) == 5
    assert idempotency_key(first, "svc") == idempotency_key(first, "svc")


def test_a_create_has_one_key_per_incarnation_whatever_its_version_or_content() -> None:
    from integrations.base import create_idempotency_key, idempotency_key
    from integrations.records import CachedEvent

    first = CachedEvent("e1", {}, "aaaa" * 16, version=1, incarnation=FIRST)
    changed = CachedEvent("e1", {}, "bbbb" * 16, version=2, incarnation=FIRST)
    reimported = CachedEvent("e1", {}, "aaaa" * 16, version=1, incarnation=SECOND)
    # A retried or superseded create is a replay of the same one...
    assert create_idempotency_key(first, "svc") == create_idempotency_key(changed, "svc")
    # ...but a new incarnation is a new draft, and updates stay keyed per version.
    assert create_idempotency_key(first, "svc") != create_idempotency_key(reimported, "svc")
    assert create_idempotency_key(first, "svc") not in {idempotency_key(first, "svc"), idempotency_key(changed, "svc")}


def test_a_response_summary_keeps_whitelisted_fields_only() -> None:
    from integrations.base import summarise_response

    echoed = {"data": {"id": "42", "type": "draft-events", "attributes": {"title": "t", "token": "s3cr3t"}}, "x": 1}
    assert summarise_response(echoed) == '{"id":"42","type":"draft-events"}'
    assert summarise_response({"status": "x" * 1000}) == '{"status":"' + "x" * 63 + '…"}'
    assert summarise_response({"body_problem": "the body is not JSON"}) == '{"body_problem":"the body is not JSON"}'


def test_a_rejected_version_is_not_sent_again_unless_an_operator_asks() -> None:
    rejected = SubmissionRecord("e1", "svc", SubmissionStatus.FAILED, data_hash="h1", version=1, permanent=True)
    gave_up = SubmissionRecord("e1", "svc", SubmissionStatus.FAILED, data_hash="h1", version=1, permanent=False)
    assert decide_claim(rejected, data_hash="h1", version=1, now=NOW) is ClaimOutcome.ALREADY_FAILED
    assert decide_claim(rejected, data_hash="h1", version=1, now=NOW, retry_failed=True) is ClaimOutcome.CLAIMED
    assert decide_claim(rejected, data_hash="h2", version=2, now=NOW) is ClaimOutcome.CLAIMED  # changed data
    assert decide_claim(gave_up, data_hash="h1", version=1, now=NOW) is ClaimOutcome.CLAIMED  # a redrive retries
