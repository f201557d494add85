"""The template merged into `chalice package` output: the resources deploy.py makes with API
calls (queues, secret, layer), and what Chalice's own resources lack (ReportBatchItemFailures
and the rest of event_source.py, stable function names, the layer, the secrets).

The queues' properties are derived from emailsched.adapters.queues, the same definition
`emailsched setup` and deploy.py use.
"""

from __future__ import annotations

import json
from typing import Any

from emailsched.adapters.queues import dead_letter_attributes, send_queue_attributes
from emailsched_infra import event_source
from emailsched_infra.chalice_config import Resolved
from emailsched_infra.stage import API_HANDLER, PUMP, RUNTIME, SENDER, Stage

SEND_QUEUE, DEAD_LETTER_QUEUE = "SendQueue", "DeadLetterQueue"
APP_SECRET, COMMON_LAYER = "AppSecret", "CommonLayer"
LAYER_FILE = "common-layer.zip"
# Chalice's logical ids for the functions and for the sender's SQS event.
LOGICAL_IDS = {API_HANDLER: "APIHandler", SENDER: "Sender", PUMP: "Pump"}
SQS_EVENT = "SenderSqsEventSource"
PARAMETERS = {"DATABASE_URL": "DatabaseUrl", "REDIS_URL": "RedisUrl",
              "SESSION_SECRET": "SessionSecret", "SMTP_PASSWORD": "SmtpPassword"}
OPTIONAL = {"SMTP_PASSWORD": "HasSmtpPassword"}


def _queue(name: str, attributes: dict[str, str]) -> dict[str, Any]:
    properties: dict[str, Any] = {"QueueName": name}
    for key, value in attributes.items():
        if key == "RedrivePolicy":
            policy = json.loads(value)
            policy["deadLetterTargetArn"] = {"Fn::GetAtt": [DEAD_LETTER_QUEUE, "Arn"]}
            properties[key] = policy
        else:
            properties[key] = int(value)
    return {"Type": "AWS::SQS::Queue", "Properties": properties}


def _parameters() -> dict[str, Any]:
    parameters = {logical: {"Type": "String", "NoEcho": True,
                            "Description": f"{name} of the functions (kept in {APP_SECRET})"}
                  for name, logical in PARAMETERS.items()}
    for name in OPTIONAL:
        parameters[PARAMETERS[name]]["Default"] = ""
    return parameters


def _secret(stage: Stage) -> dict[str, Any]:
    # A JSON object built by Fn::Sub: values must not contain '"' or '\'.
    fields = ", ".join(f'"{name}": "${{{logical}}}"' for name, logical in PARAMETERS.items())
    return {"Type": "AWS::SecretsManager::Secret",
            "Properties": {"Name": stage.secret_name, "SecretString": {"Fn::Sub": f"{{{fields}}}"},
                           "Description": f"emailsched {stage.name}: connection strings and "
                                          "signing secret"}}


def _secret_environment(function: str) -> dict[str, Any]:
    # Only the secret's ARN: the function reads the values at cold start
    # (emailsched.adapters.secrets), so none is in its configuration.
    return {"APP_SECRET_ARN": {"Ref": APP_SECRET}}


def _function(stage: Stage, function: str) -> dict[str, Any]:
    return {"Properties": {"FunctionName": stage.function_name(function),
                           "Layers": [{"Ref": COMMON_LAYER}],
                           "Environment": {"Variables": _secret_environment(function)}}}


def merge_template(stage: Stage, resolved: Resolved) -> dict[str, Any]:
    functions = {LOGICAL_IDS[fn]: _function(stage, fn) for fn in LOGICAL_IDS}
    sender = functions[LOGICAL_IDS[SENDER]]
    # Chalice names the queue by ARN (Fn::Sub of its name); a merge cannot swap that for a
    # GetAtt, so the function waits for the queue, and the mapping for the function.
    sender["DependsOn"] = [SEND_QUEUE]
    sender["Properties"]["Events"] = {SQS_EVENT: {"Properties": event_source.wanted(
        resolved.batching_window_seconds, resolved.sender_concurrency)}}
    return {
        "Parameters": _parameters(),
        "Resources": {
            DEAD_LETTER_QUEUE: _queue(stage.dead_letter_queue_name, dead_letter_attributes()),
            SEND_QUEUE: _queue(stage.queue_name, send_queue_attributes("<dead-letter>")),
            APP_SECRET: _secret(stage),
            COMMON_LAYER: {"Type": "AWS::Serverless::LayerVersion",
                           "Properties": {"LayerName": stage.layer_name,
                                          "ContentUri": f"./{LAYER_FILE}",
                                          "CompatibleRuntimes": [RUNTIME],
                                          "RetentionPolicy": "Retain"}},
            **functions,
        },
        "Outputs": {
            "SendQueueUrl": {"Value": {"Ref": SEND_QUEUE}},
            "DeadLetterQueueUrl": {"Value": {"Ref": DEAD_LETTER_QUEUE}},
        },
    }
