"""``event-importer local --fast``: the template with its waits shortened, for a walkthrough that feels live.

Batching windows go to zero, queue visibility timeouts to a few seconds,
retries back off for at most two seconds and a message is dead-lettered after
three attempts, so "break the destination, watch the DLQ fill" takes seconds,
not the hour the production settings allow for an outage.  Everything else is
the template as declared.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

VISIBILITY_TIMEOUT_SECONDS = 3
#: CloudFormation parameter overrides (the caller's own ``-p`` win).
FAST_PARAMETERS = {"MaxReceiveCount": "3"}
#: Each submit function's environment on top of the template's.
FAST_SUBMIT_ENVIRONMENT = {"RETRY_BASE_SECONDS": "0.25", "RETRY_MAX_SECONDS": "2"}


def fast_template(template: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``template`` (a loaded SAM template) with short batching windows and visibility timeouts."""
    body: dict[str, Any] = copy.deepcopy(dict(template))
    for resource in body["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in properties:
            properties["VisibilityTimeout"] = VISIBILITY_TIMEOUT_SECONDS
        for event in (properties.get("Events") or {}).values():
            if event["Type"] in ("DynamoDB", "SQS"):  # an HTTP API event has no batching window
                event["Properties"]["MaximumBatchingWindowInSeconds"] = 0
    return body


def submit_functions(template: Mapping[str, Any]) -> list[str]:
    """Logical ids of the template's submit functions (those that name an integration)."""
    return [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if "INTEGRATION_NAME" in (resource.get("Properties", {}).get("Environment") or {}).get("Variables", {})
    ]
