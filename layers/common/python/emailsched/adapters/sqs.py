"""The send queue on SQS (or moto's server, or LocalStack) through boto3."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from emailsched.errors import ServiceUnavailable
from emailsched.ports import OutgoingMessage, ReceivedMessage

SQS_BATCH = 10


def make_sqs_client(region: str, endpoint_url: str | None) -> Any:
    config = Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=20)
    return boto3.client("sqs", region_name=region, endpoint_url=endpoint_url, config=config)


class SqsQueue:
    def __init__(self, client: Any, queue_name: str):
        self._client = client
        self._name = queue_name
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = self._client.get_queue_url(QueueName=self._name)["QueueUrl"]
        return self._url

    def send(self, messages: list[OutgoingMessage]) -> None:
        for start in range(0, len(messages), SQS_BATCH):
            chunk = messages[start:start + SQS_BATCH]
            entries = [{"Id": str(i), "MessageBody": m.body,
                        "DelaySeconds": max(0, min(900, m.delay_seconds))}
                       for i, m in enumerate(chunk)]
            answer = self._client.send_message_batch(QueueUrl=self.url, Entries=entries)
            if answer.get("Failed"):
                raise ServiceUnavailable(f"SQS refused {len(answer['Failed'])} messages: "
                                         f"{answer['Failed'][0].get('Message', '')}")

    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        self._client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt_handle,
            VisibilityTimeout=max(0, min(43_200, seconds)))

    def receive(self, max_messages: int, wait_seconds: int) -> list[ReceivedMessage]:
        answer = self._client.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=max(1, min(SQS_BATCH, max_messages)),
            WaitTimeSeconds=wait_seconds, AttributeNames=["All"],
            MessageAttributeNames=["All"])
        return [ReceivedMessage(m["MessageId"], m["ReceiptHandle"], m["Body"],
                                m.get("Attributes", {}))
                for m in answer.get("Messages", [])]

    def delete(self, receipt_handles: list[str]) -> None:
        for start in range(0, len(receipt_handles), SQS_BATCH):
            chunk = receipt_handles[start:start + SQS_BATCH]
            self._client.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chunk)])

    def depth(self) -> int:
        """ApproximateNumberOfMessages: visible messages waiting (not delayed or in flight)."""
        try:
            attributes = self._client.get_queue_attributes(
                QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"])
        except (BotoCoreError, ClientError) as error:
            raise ServiceUnavailable(f"SQS: {type(error).__name__}") from error
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    def arn(self) -> str:
        attributes = self._client.get_queue_attributes(QueueUrl=self.url,
                                                       AttributeNames=["QueueArn"])
        return str(attributes["Attributes"]["QueueArn"])
