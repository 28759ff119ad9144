"""Lambda event shapes built from what the AWS APIs return.

Lambda's event source mappings turn ``GetRecords`` / ``ReceiveMessage``
results into invocation events; the local runtime and the tests do the same
with these functions, so handlers always see events of the real shape.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext


def _epoch_seconds(value: object) -> object:
    if isinstance(value, dt.datetime):
        return int(value.timestamp())
    return value


def stream_event(records: Iterable[Mapping[str, Any]], *, stream_arn: str, region: str) -> dict[str, Any]:
    """A DynamoDB-stream invocation event from ``GetRecords`` records."""
    converted = []
    for record in records:
        stream = dict(record["dynamodb"])
        if "ApproximateCreationDateTime" in stream:
            stream["ApproximateCreationDateTime"] = _epoch_seconds(stream["ApproximateCreationDateTime"])
        converted.append(
            {
                "eventID": record.get("eventID", uuid.uuid4().hex),
                "eventName": record["eventName"],
                "eventVersion": record.get("eventVersion", "1.1"),
                "eventSource": "aws:dynamodb",
                "awsRegion": region,
                "dynamodb": stream,
                "eventSourceARN": stream_arn,
            }
        )
    return {"Records": converted}


def sqs_event(messages: Iterable[Mapping[str, Any]], *, queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS invocation event from ``ReceiveMessage`` messages (received with all attributes)."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value["DataType"],
                    }
                    for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


class LocalContext(LambdaContext):
    """A Lambda-like context: the function's identity and a deadline from its timeout."""

    def __init__(
        self,
        function_name: str,
        *,
        timeout_seconds: float = 30.0,
        memory_limit_in_mb: int = 256,
        region: str = "us-east-1",
        account_id: str = "123456789012",
    ) -> None:
        self._function_name = function_name
        self._function_version = "$LATEST"
        self._invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self._memory_limit_in_mb = memory_limit_in_mb
        self._aws_request_id = str(uuid.uuid4())
        self._log_group_name = f"/aws/lambda/{function_name}"
        self._log_stream_name = f"local/{self._aws_request_id}"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return max(0, int((self._deadline - time.monotonic()) * 1000))
