"""Least-privilege IAM policies, one per function.

One definition serves both paths: `chalice deploy` gets the documents with concrete ARNs,
the CloudFormation template gets them with intrinsic functions (`Fn::GetAtt`, `Fn::Sub`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emailsched_infra.kms_key import API_KEY_ACTIONS, SENDER_KEY_ACTIONS
from emailsched_infra.stage import API_HANDLER, FUNCTIONS, PUMP, REPLIES, SENDER, Stage

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
# Settings at cold start (emailsched.adapters.secrets): the one secret of the stage.
SECRET_ACTIONS = ["secretsmanager:GetSecretValue"]
LOG_ACTIONS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
# What AWSLambdaVPCAccessExecutionRole grants: Lambda manages the function's network
# interfaces with the function's role. These actions take no resource-level scoping.
VPC_ACTIONS = ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
               "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
               "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]


# Sender credentials: the API encrypts, the sender decrypts (see kms_key.py), and so does
# the reply poller (a sender's IMAP password is stored like its SMTP one).
KEY_ACTIONS = {API_HANDLER: ("EncryptSenderCredentials", API_KEY_ACTIONS),
               SENDER: ("DecryptSenderCredentials", SENDER_KEY_ACTIONS),
               REPLIES: ("DecryptSenderCredentials", SENDER_KEY_ACTIONS)}


@dataclass(frozen=True)
class PolicyRefs:
    """How the policies name the resources: ARN strings or CloudFormation expressions."""

    send_queue: Any
    dead_letter_queue: Any
    log_groups: dict[str, list[Any]]  # function -> [log group ARN, its streams' ARN]
    app_secret: Any = None  # the stage's secret: every function reads it at cold start
    credentials_key: Any = None  # the KMS key of sender passwords (kms_key.py)


def concrete_refs(stage: Stage, account: str, partition: str = "aws",
                  secret_arn: str | None = None, key_arn: str | None = None) -> PolicyRefs:
    prefix = f"arn:{partition}:sqs:{stage.region}:{account}"
    logs = f"arn:{partition}:logs:{stage.region}:{account}:log-group:/aws/lambda"
    return PolicyRefs(
        send_queue=f"{prefix}:{stage.queue_name}",
        dead_letter_queue=f"{prefix}:{stage.dead_letter_queue_name}",
        log_groups={fn: [f"{logs}/{stage.function_name(fn)}",
                         f"{logs}/{stage.function_name(fn)}:*"] for fn in FUNCTIONS},
        app_secret=secret_arn, credentials_key=key_arn)


def cloudformation_refs(stage: Stage, send_queue: str, dead_letter_queue: str,
                        app_secret: str | None = None) -> PolicyRefs:
    """`send_queue` and `dead_letter_queue` are the logical ids of the queue resources."""
    logs = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda"
    return PolicyRefs(
        send_queue={"Fn::GetAtt": [send_queue, "Arn"]},
        dead_letter_queue={"Fn::GetAtt": [dead_letter_queue, "Arn"]},
        log_groups={fn: [{"Fn::Sub": f"{logs}/{stage.function_name(fn)}"},
                         {"Fn::Sub": f"{logs}/{stage.function_name(fn)}:*"}]
                    for fn in FUNCTIONS},
        app_secret={"Ref": app_secret} if app_secret else None)


def _statement(sid: str, actions: list[str], resources: list[Any]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def function_policies(refs: PolicyRefs, vpc: bool) -> dict[str, dict[str, Any]]:
    """The policy document of each function (by Chalice's function name)."""
    own: dict[str, list[dict[str, Any]]] = {
        API_HANDLER: [],  # the API only writes the ledger; the pump moves emails to SQS
        SENDER: [_statement("ConsumeSendQueue", SENDER_QUEUE_ACTIONS, [refs.send_queue]),
                 _statement("DeadLetterPoison", SENDER_DEAD_LETTER_ACTIONS,
                            [refs.dead_letter_queue])],
        PUMP: [_statement("FillSendQueue", PUMP_QUEUE_ACTIONS, [refs.send_queue])],
        # The poller reads mailboxes over IMAP (network, not IAM: the VPC's egress to port
        # 993 when in a VPC) and writes the ledger: no AWS call beyond logs, secret, key.
        REPLIES: [],
    }
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
        policies[function] = {"Version": "2012-10-17", "Statement": statements}
    return policies
