"""The naive peer: the same pipeline written the obvious way, to measure ours against.

Each benchmark that compares against it runs it in the same run, on the same
moto (server or in-process) and the same loopback destination as ours, so
its figures are measured, never assumed:

* fan-out: Powertools ``BatchProcessor`` over the stream batch, one
  ``SendMessage`` per record and queue;
* submit: Powertools ``BatchProcessor`` over the SQS batch, records one after
  the other: validate and transform with the integration's own transformer
  (the same work as ours), one POST through a shared ``httpx.Client``, one
  ``PutItem`` per outcome (no claim: what a first attempt at this looks like);
* import: per event, a consistent ``GetItem`` of the stored hash, then a
  ``PutItem`` when it changed.

It is deliberately simple, not deliberately slow: one HTTP connection pool,
one boto3 client per table, no sleeps.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import httpx
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from integrations.event_data import event_id_for, validate_event
from integrations.ticketfairy.client import DRAFT_EVENTS_PATH
from integrations.ticketfairy.transformer import TicketFairyTransformer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

__all__ = ["NaiveFanout", "NaiveSubmit", "naive_import"]


class NaiveFanout:
    """Stream records -> one ``SendMessage`` per record and queue."""

    def __init__(self, sqs: SQSClient, queue_urls: Iterable[str]) -> None:
        self.sqs = sqs
        self.queue_urls = list(queue_urls)

    def handle(self, event: Mapping[str, Any]) -> PartialItemFailureResponse:
        processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
        return process_partial_response(event=dict(event), record_handler=self._record, processor=processor)

    def _record(self, record: DynamoDBRecord) -> None:
        stream = record.dynamodb
        if stream is None or not stream.new_image:
            return
        image = stream.new_image
        body = json.dumps(
            {"event_id": image["event_id"], "data_hash": image["data_hash"], "event": json.loads(image["data"])}
        )
        for queue_url in self.queue_urls:
            self.sqs.send_message(QueueUrl=queue_url, MessageBody=body)


class NaiveSubmit:
    """SQS messages -> validate, transform, POST, ``PutItem`` the outcome; one record at a time."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, *, base_url: str, api_key: str) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.http = httpx.Client(base_url=base_url, timeout=10.0, headers={"Authorization": f"Bearer {api_key}"})
        self.transformer = TicketFairyTransformer()

    def handle(self, event: Mapping[str, Any]) -> PartialItemFailureResponse:
        processor = BatchProcessor(event_type=EventType.SQS)
        return process_partial_response(event=dict(event), record_handler=self._record, processor=processor)

    def _record(self, record: SQSRecord) -> None:
        message = json.loads(record.body)
        payload = self.transformer.transform(validate_event(message["event"]).model_dump(mode="json"))
        response = self.http.post(DRAFT_EVENTS_PATH, json=payload)
        response.raise_for_status()
        self.dynamodb.put_item(
            TableName=self.table,
            Item={
                "event_id": {"S": message["event_id"]},
                "service": {"S": "ticketfairy"},
                "status": {"S": "success"},
                "data_hash": {"S": message["data_hash"]},
                "remote_id": {"S": str(response.json()["data"]["id"])},
                "updated_at": {"S": dt.datetime.now(dt.UTC).isoformat()},
            },
        )

    def close(self) -> None:
        self.http.close()


def naive_import(dynamodb: DynamoDBClient, table: str, events: Iterable[Mapping[str, Any]]) -> None:
    """Per event: read the stored hash, write the event when it changed."""
    for raw in events:
        event = validate_event(dict(raw))
        event_id = event_id_for(str(event.source_url))
        data_hash = event.content_hash()
        stored = dynamodb.get_item(
            TableName=table, Key={"event_id": {"S": event_id}}, ConsistentRead=True, ProjectionExpression="data_hash"
        ).get("Item")
        if stored and stored["data_hash"].get("S") == data_hash:
            continue
        dynamodb.put_item(
            TableName=table,
            Item={
                "event_id": {"S": event_id},
                "data": {"S": event.model_dump_json()},
                "data_hash": {"S": data_hash},
                "updated_at": {"S": dt.datetime.now(dt.UTC).isoformat()},
            },
        )
