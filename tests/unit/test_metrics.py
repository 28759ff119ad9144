"""Delivery outcomes reach CloudWatch as EMF metrics with the integration as a dimension."""

from __future__ import annotations

import json

import pytest
from aws_lambda_powertools import Metrics

from infra.pipeline.metrics import Outcome, OutcomeMetrics


def test_outcomes_are_counted_per_integration_in_one_emf_document(capsys: pytest.CaptureFixture[str]) -> None:
    sink = Metrics()
    sink.clear_metrics()  # Powertools' Metrics share one metric set per process
    counter = OutcomeMetrics("ticketfairy", namespace="EventImporterTest", service="event-importer", sink=sink)
    for outcome in (Outcome.SUBMITTED, Outcome.SUBMITTED, Outcome.RETRIED, Outcome.DEAD_LETTERED):
        counter.count(outcome)

    sink.flush_metrics()

    document = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "EventImporterTest"
    assert ["integration", "service"] in [sorted(d) for d in directive["Dimensions"]]
    assert document["integration"] == "ticketfairy"
    assert document["Submitted"] == [1.0, 1.0]
    assert document["Retried"] == [1.0]
    assert document["DeadLettered"] == [1.0]
    assert "Failed" not in document
