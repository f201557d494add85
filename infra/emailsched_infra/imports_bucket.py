"""The imports bucket: where the dashboard PUTs a big recipient list (a URL the API
presigns) for the import function to stream into Postgres.

Private (every public access blocked), its objects expire after
adapters.import_objects.EXPIRE_AFTER_DAYS, and CORS lets the dashboard's origins PUT. The
lifecycle and CORS rules are adapters.import_objects' (the ones `emailsched setup` uses);
each is read before it is written, so a run with nothing to change writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from emailsched.adapters.import_objects import bucket_cors, bucket_lifecycle

PRIVATE = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
           "RestrictPublicBuckets": True}


@dataclass(frozen=True)
class ImportsBucket:
    name: str
    origins: list[str]
    changed: bool


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def bucket_exists(s3: Any, name: str) -> bool:
    try:
        s3.head_bucket(Bucket=name)
    except ClientError as error:
        if _code(error) in ("404", "NoSuchBucket", "NotFound"):
            return False
        raise
    return True


def read_or_none(read: Any, key: str, missing: tuple[str, ...]) -> Any:
    """`read()[key]`, or None when S3 answers one of the `missing` error codes."""
    try:
        return read()[key]
    except ClientError as error:
        if _code(error) in missing:
            return None
        raise


def same_lifecycle(current: list[dict[str, Any]] | None, wanted: list[dict[str, Any]]) -> bool:
    """Whether the bucket's lifecycle rules (None: it has none) are `wanted`."""
    if current is None:
        return False
    fields = ("ID", "Status", "Filter", "Expiration", "AbortIncompleteMultipartUpload")
    return ([{k: rule.get(k) for k in fields} for rule in current]
            == [{k: rule.get(k) for k in fields} for rule in wanted])


def _same_cors(current: list[dict[str, Any]] | None, wanted: list[dict[str, Any]]) -> bool:
    if current is None:
        return False
    keys = ("AllowedOrigins", "AllowedMethods", "AllowedHeaders", "ExposeHeaders",
            "MaxAgeSeconds")

    def plain(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: sorted(v) if isinstance(v, list) else v for k, v in rule.items()
                 if k in keys} for rule in rules]

    return plain(current) == plain(wanted)


def ensure_imports_bucket(s3: Any, name: str, region: str, origins: list[str]) -> ImportsBucket:
    """Create or correct the bucket; `origins` may PUT to it (the hosted dashboard's and
    DASHBOARD_ORIGINS)."""
    changed = False
    if not bucket_exists(s3, name):
        options: dict[str, Any] = {}
        if region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(Bucket=name, **options)
        changed = True
    block = read_or_none(lambda: s3.get_public_access_block(Bucket=name),
                     "PublicAccessBlockConfiguration", ("NoSuchPublicAccessBlockConfiguration",))
    if block != PRIVATE:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=PRIVATE)
        changed = True
    rules = read_or_none(lambda: s3.get_bucket_lifecycle_configuration(Bucket=name), "Rules",
                     ("NoSuchLifecycleConfiguration",))
    if not same_lifecycle(rules, bucket_lifecycle()["Rules"]):
        s3.put_bucket_lifecycle_configuration(Bucket=name,
                                              LifecycleConfiguration=bucket_lifecycle())
        changed = True
    cors = bucket_cors(origins)
    current_cors = read_or_none(lambda: s3.get_bucket_cors(Bucket=name), "CORSRules",
                            ("NoSuchCORSConfiguration",))
    if not _same_cors(current_cors, cors["CORSRules"]):
        s3.put_bucket_cors(Bucket=name, CORSConfiguration=cors)
        changed = True
    return ImportsBucket(name, cors["CORSRules"][0]["AllowedOrigins"], changed)
