"""Uploaded recipient lists in S3 (or moto's server, or LocalStack): presigned PUT URLs for
the browser, and the object read back as a stream of byte chunks from any offset."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from emailsched.errors import ServiceUnavailable

CSV_CONTENT_TYPE = "text/csv"
READ_CHUNK_BYTES = 1 << 20
# Objects left behind (an upload never scheduled, a finished import) expire: the list is
# in the ledger once imported.
EXPIRE_AFTER_DAYS = 2


def make_s3_client(region: str, endpoint_url: str | None) -> Any:
    # Path style: moto's server and LocalStack serve presigned URLs that way (FACTS.md).
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"},
                    retries={"max_attempts": 5, "mode": "standard"})
    return boto3.client("s3", region_name=region, endpoint_url=endpoint_url, config=config)


def bucket_lifecycle() -> dict[str, Any]:
    return {"Rules": [{"ID": "expire-imports", "Status": "Enabled", "Filter": {"Prefix": ""},
                       "Expiration": {"Days": EXPIRE_AFTER_DAYS},
                       "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]}


def bucket_cors(origins: list[str]) -> dict[str, Any]:
    """The dashboard PUTs the file straight to S3 from its own origin."""
    return {"CORSRules": [{"AllowedOrigins": origins or ["*"], "AllowedMethods": ["PUT"],
                           "AllowedHeaders": ["content-type"], "ExposeHeaders": ["ETag"],
                           "MaxAgeSeconds": 3600}]}


def ensure_bucket(s3: Any, bucket: str, region: str, origins: list[str]) -> None:
    """Create (or update) the imports bucket: `emailsched setup` and infra/deploy.py."""
    arguments: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou,
                             s3.exceptions.BucketAlreadyExists):
        s3.create_bucket(**arguments)
    s3.put_bucket_lifecycle_configuration(Bucket=bucket,
                                          LifecycleConfiguration=bucket_lifecycle())
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=bucket_cors(origins))


class S3ImportObjects:
    """ImportObjects on one bucket."""

    def __init__(self, client: Any, bucket: str):
        self._client, self._bucket = client, bucket

    def upload_url(self, key: str, expires_seconds: int) -> str:
        with _wrapped():
            url: str = self._client.generate_presigned_url(
                "put_object", ExpiresIn=expires_seconds, HttpMethod="PUT",
                Params={"Bucket": self._bucket, "Key": key, "ContentType": CSV_CONTENT_TYPE})
        return url

    def upload_headers(self) -> dict[str, str]:
        # A PUT without them is refused by S3 (moto stores a form-typed one empty).
        return {"Content-Type": CSV_CONTENT_TYPE}

    def size(self, key: str) -> int | None:
        """The object's size in bytes; None while it is not uploaded."""
        head = self._head(key)
        return None if head is None else int(head["ContentLength"])

    def content_type(self, key: str) -> str | None:
        head = self._head(key)
        return None if head is None else str(head.get("ContentType") or "")

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise ServiceUnavailable(f"S3 is unavailable: {error}") from error
        except BotoCoreError as error:
            raise ServiceUnavailable(f"S3 is unavailable: {error}") from error
        return head

    def read(self, key: str, start: int = 0) -> Iterator[bytes]:
        """The object's bytes from `start` on, a chunk at a time (never all in memory)."""
        with _wrapped():
            arguments: dict[str, Any] = {"Bucket": self._bucket, "Key": key}
            if start:
                arguments["Range"] = f"bytes={start}-"
            try:
                body = self._client.get_object(**arguments)["Body"]
            except ClientError as error:
                # A checkpoint at the very end (the last chunk was read, the end not yet
                # reached): S3 answers 416 for a range that starts there. Nothing is left.
                if start and error.response.get("Error", {}).get("Code") == "InvalidRange":
                    return
                raise
            try:
                yield from body.iter_chunks(READ_CHUNK_BYTES)
            finally:
                body.close()

    def delete(self, key: str) -> None:
        with _wrapped():
            self._client.delete_object(Bucket=self._bucket, Key=key)


@contextlib.contextmanager
def _wrapped() -> Iterator[None]:
    try:
        yield
    except (BotoCoreError, ClientError) as error:
        raise ServiceUnavailable(f"S3 is unavailable: {error}") from error


class SqsImportJobs:
    """ImportJobs on the imports queue: one message per invocation of the import function."""

    def __init__(self, client: Any, queue_name: str):
        self._client, self._name = client, queue_name
        self._url: str | None = None

    def start(self, import_id: Any) -> None:
        with _wrapped():
            if self._url is None:
                self._url = self._client.get_queue_url(QueueName=self._name)["QueueUrl"]
            self._client.send_message(QueueUrl=self._url,
                                      MessageBody=json.dumps({"importId": str(import_id)}))
