"""The stage's artifacts bucket: where deploy.py puts a layer zip too big for a direct
upload (Lambda takes 50 MB inline), as `sam deploy --resolve-s3` makes its own bucket.

Made on first need, private (every public access blocked); an upload is only read while
Lambda publishes the layer version (Lambda keeps its own copy), so uploads expire after
EXPIRE_AFTER_DAYS. `--artifact-bucket` names a bucket of one's own instead.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from emailsched_infra.imports_bucket import PRIVATE, bucket_exists, read_or_none, same_lifecycle

EXPIRE_AFTER_DAYS = 7
LIFECYCLE = {"Rules": [{"ID": "expire-uploads", "Status": "Enabled", "Filter": {"Prefix": ""},
                        "Expiration": {"Days": EXPIRE_AFTER_DAYS},
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]}


@dataclass(frozen=True)
class ArtifactsBucket:
    name: str
    changed: bool


def ensure_artifacts_bucket(s3: Any, name: str, region: str) -> ArtifactsBucket:
    """Create the bucket if missing; make it private with LIFECYCLE if it is not."""
    changed = False
    if not bucket_exists(s3, name):
        options: dict[str, Any] = {}
        if region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(Bucket=name, **options)
        changed = True
    block = read_or_none(lambda: s3.get_public_access_block(Bucket=name),
                         "PublicAccessBlockConfiguration",
                         ("NoSuchPublicAccessBlockConfiguration",))
    if block != PRIVATE:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=PRIVATE)
        changed = True
    rules = read_or_none(lambda: s3.get_bucket_lifecycle_configuration(Bucket=name), "Rules",
                         ("NoSuchLifecycleConfiguration",))
    if not same_lifecycle(rules, LIFECYCLE["Rules"]):
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration=LIFECYCLE)
        changed = True
    return ArtifactsBucket(name, changed)


def upload(s3: Any, bucket: str, prefix: str, path: Path) -> dict[str, str]:
    """Put `path` at `<prefix>/<sha256>.zip` unless already there; the Content of a
    PublishLayerVersion that reads it."""
    key = f"{prefix}/{hashlib.sha256(path.read_bytes()).hexdigest()}.zip"
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
        s3.upload_file(str(path), bucket, key)
    return {"S3Bucket": bucket, "S3Key": key}
