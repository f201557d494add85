"""The template merged into `chalice package` output: the resources deploy.py makes with API
calls (queues, secret, layer), and what Chalice's own resources lack (ReportBatchItemFailures
and the rest of event_source.py, stable function names, the layer, the secrets).

The queues' properties are derived from emailsched.adapters.queues, the same definition
`emailsched setup` and deploy.py use.
"""

from __future__ import annotations

import json
from typing import Any

from emailsched.adapters.import_objects import bucket_cors, bucket_lifecycle
from emailsched.adapters.queues import (
    dead_letter_attributes,
    import_queue_attributes,
    send_queue_attributes,
)
from emailsched_infra import event_source
from emailsched_infra.chalice_config import (
    IMPORT_USERS,
    IMPORTS_CONCURRENCY,
    KEY_USERS,
    Resolved,
    dashboard_origins,
)
from emailsched_infra.imports_bucket import PRIVATE
from emailsched_infra.kms_key import alias_name
from emailsched_infra.stage import (
    API_HANDLER,
    IMPORTS,
    PUMP,
    REPLIES,
    RUNTIME,
    SENDER,
    VERIFIER,
    WEBHOOKS,
    Stage,
)

SEND_QUEUE, DEAD_LETTER_QUEUE = "SendQueue", "DeadLetterQueue"
IMPORT_QUEUE, IMPORT_DEAD_LETTER_QUEUE = "ImportQueue", "ImportDeadLetterQueue"
IMPORT_BUCKET = "ImportBucket"
APP_SECRET, COMMON_LAYER = "AppSecret", "CommonLayer"
CREDENTIALS_KEY, CREDENTIALS_KEY_ALIAS = "CredentialsKey", "CredentialsKeyAlias"
LAYER_FILE = "common-layer.zip"
# Chalice's logical ids for the functions and for the sender's SQS event.
LOGICAL_IDS = {API_HANDLER: "APIHandler", SENDER: "Sender", PUMP: "Pump", REPLIES: "Replies",
               IMPORTS: "Imports", VERIFIER: "Verifier", WEBHOOKS: "Webhooks"}
REST_API = "RestAPI"  # Chalice's logical id of the API
# Unsubscribe links point at the API's stage URL unless --public-url names another.
API_STAGE_URL = {"Fn::Sub": f"https://${{{REST_API}}}.execute-api.${{AWS::Region}}"
                            ".${AWS::URLSuffix}/api"}
SQS_EVENT = "SenderSqsEventSource"
IMPORTS_SQS_EVENT = "ImportsSqsEventSource"
PARAMETERS = {"DATABASE_URL": "DatabaseUrl", "REDIS_URL": "RedisUrl",
              "SESSION_SECRET": "SessionSecret", "SMTP_PASSWORD": "SmtpPassword",
              "GOOGLE_OAUTH_CLIENT_SECRET": "GoogleOauthClientSecret",
              "MICROSOFT_OAUTH_CLIENT_SECRET": "MicrosoftOauthClientSecret"}
OPTIONAL = {"SMTP_PASSWORD": "HasSmtpPassword",
            "GOOGLE_OAUTH_CLIENT_SECRET": "HasGoogleOauthClientSecret",
            "MICROSOFT_OAUTH_CLIENT_SECRET": "HasMicrosoftOauthClientSecret"}


def _queue(name: str, attributes: dict[str, str],
           dead_letter: str = DEAD_LETTER_QUEUE) -> dict[str, Any]:
    properties: dict[str, Any] = {"QueueName": name}
    for key, value in attributes.items():
        if key == "RedrivePolicy":
            policy = json.loads(value)
            policy["deadLetterTargetArn"] = {"Fn::GetAtt": [dead_letter, "Arn"]}
            properties[key] = policy
        else:
            properties[key] = int(value)
    return {"Type": "AWS::SQS::Queue", "Properties": properties}


def _import_bucket(resolved: Resolved) -> dict[str, Any]:
    """The imports bucket as imports_bucket.py makes it (CloudFormation names it: the
    functions get its name by Ref)."""
    rules = [{"Id": rule["ID"], "Status": rule["Status"], "Prefix": rule["Filter"]["Prefix"],
              "ExpirationInDays": rule["Expiration"]["Days"],
              "AbortIncompleteMultipartUpload": rule["AbortIncompleteMultipartUpload"]}
             for rule in bucket_lifecycle()["Rules"]]
    cors = [{"AllowedOrigins": rule["AllowedOrigins"], "AllowedMethods": rule["AllowedMethods"],
             "AllowedHeaders": rule["AllowedHeaders"], "ExposedHeaders": rule["ExposeHeaders"],
             "MaxAge": rule["MaxAgeSeconds"]}
            for rule in bucket_cors(dashboard_origins(resolved))["CORSRules"]]
    return {"Type": "AWS::S3::Bucket", "Properties": {
        "PublicAccessBlockConfiguration": PRIVATE,
        "LifecycleConfiguration": {"Rules": rules},
        "CorsConfiguration": {"CorsRules": cors}}}


# --rds-proxy: the functions reach Postgres through an RDS Proxy, which pools connections
# across containers; DATABASE_URL is then built from the proxy's endpoint and these.
DB_PROXY, DB_PROXY_TARGETS = "DbProxy", "DbProxyTargetGroup"
DB_PROXY_SECRET, DB_PROXY_ROLE = "DbProxySecret", "DbProxyRole"
PROXY_PARAMETERS = {"DbInstanceIdentifier": ("The RDS for PostgreSQL instance behind the proxy",
                                             False),
                    "DbUser": ("Postgres user the proxy logs in as", False),
                    "DbPassword": ("Its password (kept in DbProxySecret and AppSecret)", True),
                    "DbName": ("The database", False)}
# Of the instance's max_connections, what the proxy may open; idle client connections (a
# warm Lambda container's) are closed after 30 minutes.
PROXY_MAX_CONNECTIONS_PERCENT = 90
PROXY_IDLE_CLIENT_SECONDS = 1800


def _parameters(resolved: Resolved) -> dict[str, Any]:
    parameters = {logical: {"Type": "String", "NoEcho": True,
                            "Description": f"{name} of the functions (kept in {APP_SECRET})"}
                  for name, logical in PARAMETERS.items()}
    for name in OPTIONAL:
        parameters[PARAMETERS[name]]["Default"] = ""
    if resolved.rds_proxy:
        del parameters[PARAMETERS["DATABASE_URL"]]  # built from the proxy's endpoint
        for logical, (description, secret) in PROXY_PARAMETERS.items():
            parameters[logical] = {"Type": "String", "Description": description,
                                   **({"NoEcho": True} if secret else {})}
    return parameters


def _proxy_resources(stage: Stage, resolved: Resolved) -> dict[str, Any]:
    name = f"emailsched-{stage.name}"
    return {
        DB_PROXY_SECRET: {"Type": "AWS::SecretsManager::Secret", "Properties": {
            "Name": f"{stage.secret_name}-db-proxy",
            "Description": f"emailsched {stage.name}: the login the RDS Proxy uses",
            "SecretString": {"Fn::Sub": '{"username": "${DbUser}", "password": "${DbPassword}"}'},
        }},
        DB_PROXY_ROLE: {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "rds.amazonaws.com"},
                "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "ReadProxyLogin", "PolicyDocument": {
                "Version": "2012-10-17", "Statement": [{
                    "Sid": "ReadProxyLogin", "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue"],
                    "Resource": [{"Ref": DB_PROXY_SECRET}]}]}}],
        }},
        DB_PROXY: {"Type": "AWS::RDS::DBProxy", "Properties": {
            "DBProxyName": name, "EngineFamily": "POSTGRESQL", "RequireTLS": True,
            "IdleClientTimeout": PROXY_IDLE_CLIENT_SECONDS,
            "Auth": [{"AuthScheme": "SECRETS", "IAMAuth": "DISABLED",
                      "SecretArn": {"Ref": DB_PROXY_SECRET}}],
            "RoleArn": {"Fn::GetAtt": [DB_PROXY_ROLE, "Arn"]},
            "VpcSubnetIds": resolved.subnet_ids,
            "VpcSecurityGroupIds": resolved.security_group_ids,
        }},
        DB_PROXY_TARGETS: {"Type": "AWS::RDS::DBProxyTargetGroup", "Properties": {
            "DBProxyName": {"Ref": DB_PROXY}, "TargetGroupName": "default",
            "DBInstanceIdentifiers": [{"Ref": "DbInstanceIdentifier"}],
            "ConnectionPoolConfigurationInfo": {
                "MaxConnectionsPercent": PROXY_MAX_CONNECTIONS_PERCENT},
        }},
    }


def _credentials_key(stage: Stage) -> dict[str, Any]:
    """The key of sender passwords, as kms_key.py makes it. Its key policy leaves access to
    the account's IAM (KMS's default policy): the functions' roles grant each its actions
    (policies.KEY_ACTIONS), the API encrypt only."""
    return {
        CREDENTIALS_KEY: {"Type": "AWS::KMS::Key", "DeletionPolicy": "Retain",
                          "UpdateReplacePolicy": "Retain", "Properties": {
            "Description": f"emailsched {stage.name}: sender credentials (envelope "
                           "encryption)",
            "KeyUsage": "ENCRYPT_DECRYPT", "KeySpec": "SYMMETRIC_DEFAULT",
            "EnableKeyRotation": True,
            "KeyPolicy": {"Version": "2012-10-17", "Statement": [{
                "Sid": "AccountIamDecides", "Effect": "Allow",
                "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::"
                                                 "${AWS::AccountId}:root"}},
                "Action": "kms:*", "Resource": "*"}]},
            "Tags": [{"Key": "app", "Value": "emailsched"},
                     {"Key": "stage", "Value": stage.name}]}},
        CREDENTIALS_KEY_ALIAS: {"Type": "AWS::KMS::Alias", "Properties": {
            "AliasName": alias_name(stage), "TargetKeyId": {"Ref": CREDENTIALS_KEY}}},
    }


def _secret(stage: Stage, resolved: Resolved) -> dict[str, Any]:
    # A JSON object built by Fn::Sub: values must not contain '"' or '\'.
    fields = ", ".join(f'"{name}": "${{{logical}}}"' for name, logical in PARAMETERS.items())
    if resolved.rds_proxy:  # the proxy requires TLS (RequireTLS), as RDS itself may
        fields = fields.replace(
            "${DatabaseUrl}",
            "postgresql+pg8000://${DbUser}:${DbPassword}@${DbProxy.Endpoint}:5432/${DbName}")
    return {"Type": "AWS::SecretsManager::Secret",
            "Properties": {"Name": stage.secret_name, "SecretString": {"Fn::Sub": f"{{{fields}}}"},
                           "Description": f"emailsched {stage.name}: connection strings and "
                                          "signing secret"}}


def _secret_environment(function: str) -> dict[str, Any]:
    # Only the secret's ARN: the function reads the values at cold start
    # (emailsched.adapters.secrets), so none is in its configuration.
    return {"APP_SECRET_ARN": {"Ref": APP_SECRET}}


def _function(stage: Stage, function: str, resolved: Resolved) -> dict[str, Any]:
    variables = _secret_environment(function)
    if function in (API_HANDLER, SENDER):
        # The sender signs unsubscribe links, the API serves them (no authorizer: the
        # routes are public, rate-limited in Redis).
        variables["PUBLIC_URL"] = resolved.public_url or API_STAGE_URL
    if function in IMPORT_USERS:
        variables["IMPORT_BUCKET"] = {"Ref": IMPORT_BUCKET}
    if function in KEY_USERS:
        variables["CREDENTIALS_KMS_KEY_ID"] = {"Fn::GetAtt": [CREDENTIALS_KEY, "Arn"]}
    return {"Properties": {"FunctionName": stage.function_name(function),
                           "Layers": [{"Ref": COMMON_LAYER}],
                           "Environment": {"Variables": variables}}}


def merge_template(stage: Stage, resolved: Resolved) -> dict[str, Any]:
    functions = {LOGICAL_IDS[fn]: _function(stage, fn, resolved) for fn in LOGICAL_IDS}
    sender = functions[LOGICAL_IDS[SENDER]]
    # Chalice names the queue by ARN (Fn::Sub of its name); a merge cannot swap that for a
    # GetAtt, so the function waits for the queue, and the mapping for the function.
    sender["DependsOn"] = [SEND_QUEUE]
    sender["Properties"]["Events"] = {SQS_EVENT: {"Properties": event_source.wanted(
        resolved.batching_window_seconds, resolved.sender_concurrency)}}
    imports = functions[LOGICAL_IDS[IMPORTS]]
    imports["DependsOn"] = [IMPORT_QUEUE]
    imports["Properties"]["Events"] = {IMPORTS_SQS_EVENT: {
        "Properties": event_source.wanted_imports(IMPORTS_CONCURRENCY)}}
    return {
        "Parameters": _parameters(resolved),
        "Resources": {
            DEAD_LETTER_QUEUE: _queue(stage.dead_letter_queue_name, dead_letter_attributes()),
            SEND_QUEUE: _queue(stage.queue_name, send_queue_attributes("<dead-letter>")),
            IMPORT_DEAD_LETTER_QUEUE: _queue(stage.import_dead_letter_queue_name,
                                             dead_letter_attributes()),
            IMPORT_QUEUE: _queue(stage.import_queue_name, import_queue_attributes("<dead-letter>"),
                                 IMPORT_DEAD_LETTER_QUEUE),
            IMPORT_BUCKET: _import_bucket(resolved),
            APP_SECRET: _secret(stage, resolved),
            **_credentials_key(stage),
            **(_proxy_resources(stage, resolved) if resolved.rds_proxy else {}),
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
            "ImportQueueUrl": {"Value": {"Ref": IMPORT_QUEUE}},
            "ImportBucketName": {"Value": {"Ref": IMPORT_BUCKET}},
            **({"DbProxyEndpoint": {"Value": {"Fn::GetAtt": [DB_PROXY, "Endpoint"]}}}
               if resolved.rds_proxy else {}),
        },
    }
