"""The stage's KMS key for sender credentials (envelope encryption, see
emailsched.adapters.credentials): created once, found again by its alias."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emailsched_infra.stage import Stage

# What each function may do with the key: the API encrypts (a data key per secret), the
# sender decrypts; both describe it for the start-up check. The pump has no access.
API_KEY_ACTIONS = ["kms:GenerateDataKey", "kms:DescribeKey"]
# Those that send or read as a mailbox connected by OAuth (issue 25) also encrypt: the
# access tokens they share through Redis, and a refresh token the provider rotated.
SENDER_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
# The webhook dispatcher only reads the endpoints' signing secrets.
DECRYPT_KEY_ACTIONS = ["kms:Decrypt", "kms:DescribeKey"]


@dataclass(frozen=True)
class CredentialsKey:
    arn: str
    alias: str
    changed: bool


def alias_name(stage: Stage) -> str:
    return f"alias/emailsched-{stage.name}-credentials"


def ensure_credentials_key(kms: Any, stage: Stage) -> CredentialsKey:
    """The key behind the stage's alias, made (with its alias) when there is none."""
    alias = alias_name(stage)
    try:
        found = kms.describe_key(KeyId=alias)["KeyMetadata"]
        return CredentialsKey(found["Arn"], alias, changed=False)
    except kms.exceptions.NotFoundException:
        pass
    created = kms.create_key(
        Description=f"emailsched {stage.name}: sender credentials (envelope encryption)",
        KeyUsage="ENCRYPT_DECRYPT", KeySpec="SYMMETRIC_DEFAULT",
        Tags=[{"TagKey": "app", "TagValue": "emailsched"},
              {"TagKey": "stage", "TagValue": stage.name}])["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=created["KeyId"])
    return CredentialsKey(created["Arn"], alias, changed=True)
