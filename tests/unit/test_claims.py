"""The claim decision: who may submit which version, and when."""

from __future__ import annotations

import datetime as dt

import pytest

from infra.store import decide_claim
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
