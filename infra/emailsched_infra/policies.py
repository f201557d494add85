"""Least-privilege IAM policies, one per function.

One definition serves both paths: `chalice deploy` gets the documents with concrete ARNs,
the CloudFormation template gets them with intrinsic functions (`Fn::GetAtt`, `Fn::Sub`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emailsched_infra.kms_key import API_KEY_ACTIONS, DECRYPT_KEY_ACTIONS, SENDER_KEY_ACTIONS
from emailsched_infra.stage import (
    API_HANDLER,
    FUNCTIONS,
    IMPORTS,
    PUMP,
    REPLIES,
    SENDER,
    VERIFIER,
    WEBHOOKS,
    Stage,
)

# The sender's event source mapping receives, deletes and reads attributes with the
# function's role; the sender itself defers a message with ChangeMessageVisibility and
# looks the queue's URL up by name (adapters.sqs.SqsQueue.url).
SENDER_QUEUE_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage",
                        "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
                        "sqs:GetQueueUrl"]
# The sender dead-letters a poison message itself (emailsched.api.sqs_batch).
SENDER_DEAD_LETTER_ACTIONS = ["sqs:SendMessage", "sqs:GetQueueUrl"]
# The pump sends in batches of ten; SendMessageBatch is authorised as sqs:SendMessage.
PUMP_QUEUE_ACTIONS = ["sqs:SendMessage", "sqs:GetQueueUrl"]
# Big lists: the API starts an import job with a message on the imports queue; the import
# function's event source mapping consumes it with the function's role, and the job puts
# a message on its own queue to go on from its checkpoint in a next invocation.
START_IMPORT_ACTIONS = ["sqs:SendMessage", "sqs:GetQueueUrl"]
IMPORT_QUEUE_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                        "sqs:SendMessage", "sqs:GetQueueUrl"]
# The API presigns the browser's PUT (a presigned URL carries the signer's permissions)
# and checks the upload is there (HeadObject is authorised as s3:GetObject); the job reads
# it (HeadObject, ranged GetObject) and deletes it once imported. ListBucket on the bucket
# makes a missing object a 404 (not uploaded yet), not a 403.
API_UPLOAD_ACTIONS = ["s3:PutObject", "s3:GetObject"]
IMPORT_OBJECT_ACTIONS = ["s3:GetObject", "s3:DeleteObject"]
LIST_UPLOADS_ACTIONS = ["s3:ListBucket"]
# The API checks a stored sender account through the verifier function (it may not
# decrypt the password itself): a synchronous invoke of that one function.
INVOKE_VERIFIER_ACTIONS = ["lambda:InvokeFunction"]
# Settings at cold start (emailsched.adapters.secrets): the one secret of the stage.
SECRET_ACTIONS = ["secretsmanager:GetSecretValue"]
LOG_ACTIONS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
# What AWSLambdaVPCAccessExecutionRole grants: Lambda manages the function's network
# interfaces with the function's role. These actions take no resource-level scoping.
VPC_ACTIONS = ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
               "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
               "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]


# Sender credentials: the API encrypts, the sender decrypts (see kms_key.py), and so do
# the reply poller (a sender's IMAP password is stored like its SMTP one) and the verifier
# (which checks a stored account for the API).
KEY_ACTIONS = {API_HANDLER: ("EncryptSenderCredentials", API_KEY_ACTIONS),
               SENDER: ("DecryptSenderCredentials", SENDER_KEY_ACTIONS),
               REPLIES: ("DecryptSenderCredentials", SENDER_KEY_ACTIONS),
               VERIFIER: ("DecryptSenderCredentials", SENDER_KEY_ACTIONS),
               WEBHOOKS: ("DecryptSenderCredentials", DECRYPT_KEY_ACTIONS)}


@dataclass(frozen=True)
class PolicyRefs:
    """How the policies name the resources: ARN strings or CloudFormation expressions."""

    send_queue: Any
    dead_letter_queue: Any
    log_groups: dict[str, list[Any]]  # function -> [log group ARN, its streams' ARN]
    app_secret: Any = None  # the stage's secret: every function reads it at cold start
    credentials_key: Any = None  # the KMS key of sender passwords (kms_key.py)
    import_queue: Any = None  # the imports queue (the import function's event source)
    import_bucket: list[Any] | None = None  # [bucket ARN, its objects' ARN]
    verifier_function: Any = None  # the verifier function's ARN (the API invokes it)


def concrete_refs(stage: Stage, account: str, partition: str = "aws",
                  secret_arn: str | None = None, key_arn: str | None = None) -> PolicyRefs:
    prefix = f"arn:{partition}:sqs:{stage.region}:{account}"
    bucket = f"arn:{partition}:s3:::{stage.import_bucket_name(account)}"
    logs = f"arn:{partition}:logs:{stage.region}:{account}:log-group:/aws/lambda"
    return PolicyRefs(
        send_queue=f"{prefix}:{stage.queue_name}",
        dead_letter_queue=f"{prefix}:{stage.dead_letter_queue_name}",
        log_groups={fn: [f"{logs}/{stage.function_name(fn)}",
                         f"{logs}/{stage.function_name(fn)}:*"] for fn in FUNCTIONS},
        app_secret=secret_arn, credentials_key=key_arn,
        import_queue=f"{prefix}:{stage.import_queue_name}",
        import_bucket=[bucket, f"{bucket}/*"],
        verifier_function=f"arn:{partition}:lambda:{stage.region}:{account}:function:"
                          f"{stage.function_name(VERIFIER)}")


def cloudformation_refs(stage: Stage, send_queue: str, dead_letter_queue: str,
                        app_secret: str | None = None, import_queue: str | None = None,
                        import_bucket: str | None = None,
                        credentials_key: str | None = None) -> PolicyRefs:
    """`send_queue`, `dead_letter_queue`, `import_queue`, `import_bucket` and
    `credentials_key` are the logical ids of the queue, bucket and key resources."""
    logs = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda"
    return PolicyRefs(
        send_queue={"Fn::GetAtt": [send_queue, "Arn"]},
        dead_letter_queue={"Fn::GetAtt": [dead_letter_queue, "Arn"]},
        log_groups={fn: [{"Fn::Sub": f"{logs}/{stage.function_name(fn)}"},
                         {"Fn::Sub": f"{logs}/{stage.function_name(fn)}:*"}]
                    for fn in FUNCTIONS},
        app_secret={"Ref": app_secret} if app_secret else None,
        import_queue={"Fn::GetAtt": [import_queue, "Arn"]} if import_queue else None,
        import_bucket=[{"Fn::GetAtt": [import_bucket, "Arn"]},
                       {"Fn::Sub": f"${{{import_bucket}.Arn}}/*"}] if import_bucket else None,
        credentials_key={"Fn::GetAtt": [credentials_key, "Arn"]} if credentials_key else None,
        # By name, not GetAtt: the API's role then does not wait for the function.
        verifier_function={"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:"
                                      "${AWS::AccountId}:function:"
                                      f"{stage.function_name(VERIFIER)}"})


def _statement(sid: str, actions: list[str], resources: list[Any]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def _reveal_webhook_secrets(key: Any) -> dict[str, Any]:
    """GET /webhooks/{id}/secret: the API may decrypt a webhook's signing secret, and only
    that (adapters/credentials.py binds each secret's context, `webhook:<id>:secret` here,
    to its KMS EncryptionContext); sender passwords stay beyond its reach."""
    statement = _statement("RevealWebhookSecrets", ["kms:Decrypt"], [key])
    statement["Condition"] = {"StringLike": {"kms:EncryptionContext:context": "webhook:*"}}
    return statement


def function_policies(refs: PolicyRefs, vpc: bool) -> dict[str, dict[str, Any]]:
    """The policy document of each function (by Chalice's function name)."""
    own: dict[str, list[dict[str, Any]]] = {
        # The API writes the ledger (the pump moves emails to SQS); imports below.
        API_HANDLER: [],
        SENDER: [_statement("ConsumeSendQueue", SENDER_QUEUE_ACTIONS, [refs.send_queue]),
                 _statement("DeadLetterPoison", SENDER_DEAD_LETTER_ACTIONS,
                            [refs.dead_letter_queue])],
        PUMP: [_statement("FillSendQueue", PUMP_QUEUE_ACTIONS, [refs.send_queue])],
        # The poller reads mailboxes over IMAP (network, not IAM: the VPC's egress to port
        # 993 when in a VPC) and writes the ledger: no AWS call beyond logs, secret, key.
        REPLIES: [],
        IMPORTS: [],
        # Reads the sender's row and checks the account: logs, secret, key only.
        VERIFIER: [],
        # Reads the outbox and POSTs to the endpoints (network): logs, secret, key only.
        WEBHOOKS: [],
    }
    if refs.verifier_function is not None:
        own[API_HANDLER].append(_statement("InvokeVerifier", INVOKE_VERIFIER_ACTIONS,
                                           [refs.verifier_function]))
    if refs.import_queue is not None:
        own[API_HANDLER].append(_statement("StartImports", START_IMPORT_ACTIONS,
                                           [refs.import_queue]))
        own[IMPORTS].append(_statement("ConsumeImportQueue", IMPORT_QUEUE_ACTIONS,
                                       [refs.import_queue]))
    if refs.import_bucket is not None:
        bucket, objects = refs.import_bucket
        own[API_HANDLER] += [_statement("PresignUploads", API_UPLOAD_ACTIONS, [objects]),
                             _statement("ListUploads", LIST_UPLOADS_ACTIONS, [bucket])]
        own[IMPORTS] += [_statement("ReadUploads", IMPORT_OBJECT_ACTIONS, [objects]),
                         _statement("ListUploads", LIST_UPLOADS_ACTIONS, [bucket])]
    policies = {}
    for function in FUNCTIONS:
        statements = [_statement("WriteOwnLogs", LOG_ACTIONS, refs.log_groups[function]),
                      *own[function]]
        if refs.app_secret is not None:
            statements.append(_statement("ReadAppSecret", SECRET_ACTIONS, [refs.app_secret]))
        if vpc:
            statements.append(_statement("ManageVpcInterfaces", VPC_ACTIONS, ["*"]))
        if refs.credentials_key is not None and function in KEY_ACTIONS:
            sid, actions = KEY_ACTIONS[function]
            statements.append(_statement(sid, actions, [refs.credentials_key]))
        if refs.credentials_key is not None and function == API_HANDLER:
            statements.append(_reveal_webhook_secrets(refs.credentials_key))
        policies[function] = {"Version": "2012-10-17", "Statement": statements}
    return policies
