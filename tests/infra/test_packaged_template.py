"""`deploy.py --package`: Chalice's SAM template merged with the infra resources.

moto cannot show what API Gateway gets from Chalice (its ImportRestApi takes no Swagger
2.0), so the API's side is checked here, on the template CloudFormation would deploy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from emailsched.adapters.queues import (
    IMPORT_MAX_RECEIVE_COUNT,
    IMPORT_TIMEOUT_SECONDS,
    MAX_RECEIVE_COUNT,
    RETENTION_SECONDS,
    SENDER_TIMEOUT_SECONDS,
    VISIBILITY_TIMEOUT_SECONDS,
)

pytestmark = pytest.mark.integration


def _template(packaged: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((packaged / "sam.json").read_text())
    return loaded


def _statements(resources: dict[str, Any], role: str) -> list[dict[str, Any]]:
    policies = resources[role]["Properties"]["Policies"]
    return [s for policy in policies for s in policy["PolicyDocument"]["Statement"]]


def test_cfn_lint_accepts_the_template(packaged: Path) -> None:
    lint = Path(sys.executable).with_name("cfn-lint")
    done = subprocess.run([str(lint), str(packaged / "sam.json")], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    print(f"cfn-lint {packaged / 'sam.json'}: no findings")


def test_template_has_the_app_and_the_infra(packaged: Path) -> None:
    template = _template(packaged)
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    types = Counter(resource["Type"] for resource in template["Resources"].values())
    assert types == {"AWS::Serverless::Function": 7, "AWS::IAM::Role": 7,
                     "AWS::Serverless::Api": 1, "AWS::Lambda::Permission": 1,
                     "AWS::SQS::Queue": 4, "AWS::SecretsManager::Secret": 1,
                     "AWS::Serverless::LayerVersion": 1, "AWS::S3::Bucket": 1,
                     "AWS::KMS::Key": 1, "AWS::KMS::Alias": 1}
    assert {p: template["Parameters"][p]["NoEcho"] for p in template["Parameters"]} == {
        "DatabaseUrl": True, "RedisUrl": True, "SessionSecret": True, "SmtpPassword": True,
        "GoogleOauthClientSecret": True, "MicrosoftOauthClientSecret": True}
    for name in ("deployment.zip", "common-layer.zip"):
        assert (packaged / name).is_file()


def test_send_queue_redrives_to_the_dead_letter_queue(packaged: Path) -> None:
    resources = _template(packaged)["Resources"]
    send = resources["SendQueue"]["Properties"]
    assert send["QueueName"] == "emailsched-test-send"
    assert send["VisibilityTimeout"] == VISIBILITY_TIMEOUT_SECONDS
    assert send["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue",
                                                                             "Arn"]},
                                     "maxReceiveCount": MAX_RECEIVE_COUNT}
    dead = resources["DeadLetterQueue"]["Properties"]
    assert dead == {"QueueName": "emailsched-test-send-dlq",
                    "MessageRetentionPeriod": RETENTION_SECONDS}


def test_sender_event_source_reports_batch_item_failures(packaged: Path) -> None:
    sender = _template(packaged)["Resources"]["Sender"]
    events = sender["Properties"]["Events"]
    assert list(events) == ["SenderSqsEventSource"]
    sqs = events["SenderSqsEventSource"]
    assert sqs["Type"] == "SQS"
    assert sqs["Properties"] == {
        "Queue": {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}"
                             ":emailsched-test-send"},
        "BatchSize": 10, "MaximumBatchingWindowInSeconds": 2,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": 4}}
    assert sender["DependsOn"] == ["SendQueue"]
    assert sender["Properties"]["ReservedConcurrentExecutions"] == 4
    assert sender["Properties"]["Timeout"] == SENDER_TIMEOUT_SECONDS


def test_pump_is_scheduled_every_minute(packaged: Path) -> None:
    events = _template(packaged)["Resources"]["Pump"]["Properties"]["Events"]
    assert [(e["Type"], e["Properties"]["Schedule"]) for e in events.values()] == [
        ("Schedule", "rate(1 minute)")]


def test_functions_use_the_layer_and_read_secrets_from_secrets_manager(packaged: Path) -> None:
    resources = _template(packaged)["Resources"]
    names = {"APIHandler": "emailsched-test", "Sender": "emailsched-test-sender",
             "Pump": "emailsched-test-pump", "Replies": "emailsched-test-replies",
             "Imports": "emailsched-test-imports", "Verifier": "emailsched-test-verifier"}
    for logical, name in names.items():
        properties = resources[logical]["Properties"]
        assert properties["FunctionName"] == name
        assert properties["Layers"] == [{"Ref": "CommonLayer"}]
        env = properties["Environment"]["Variables"]
        # Only the secret's ARN: the functions read the values at cold start (issue 19).
        assert env["APP_SECRET_ARN"] == {"Ref": "AppSecret"}
        assert not {"DATABASE_URL", "REDIS_URL", "SESSION_SECRET", "SMTP_PASSWORD"} & set(env)
        assert env["SEND_QUEUE_NAME"] == "emailsched-test-send"
        assert properties["VpcConfig"]["SecurityGroupIds"] == ["sg-0123456789abcdef0"]


def test_each_role_gets_least_privilege(packaged: Path) -> None:
    resources = _template(packaged)["Resources"]
    send, dead = {"Fn::GetAtt": ["SendQueue", "Arn"]}, {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    sender = {s["Sid"]: s for s in _statements(resources, "SenderRole")}
    assert sorted(sender["ConsumeSendQueue"]["Action"]) == [
        "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl", "sqs:ReceiveMessage"]
    assert sender["ConsumeSendQueue"]["Resource"] == [send]
    assert sorted(sender["DeadLetterPoison"]["Action"]) == ["sqs:GetQueueUrl", "sqs:SendMessage"]
    assert sender["DeadLetterPoison"]["Resource"] == [dead]
    pump = {s["Sid"]: s for s in _statements(resources, "PumpRole")}
    assert sorted(pump["FillSendQueue"]["Action"]) == ["sqs:GetQueueUrl", "sqs:SendMessage"]
    assert pump["FillSendQueue"]["Resource"] == [send]
    for role, allowed in (("SenderRole", {"WriteOwnLogs", "ConsumeSendQueue",
                                          "DeadLetterPoison", "ManageVpcInterfaces",
                                          "DecryptSenderCredentials"}),
                          ("PumpRole", {"WriteOwnLogs", "FillSendQueue",
                                        "ManageVpcInterfaces"}),
                          ("ApiHandlerRole", {"WriteOwnLogs", "ManageVpcInterfaces",
                                              "StartImports", "PresignUploads",
                                              "ListUploads", "EncryptSenderCredentials",
                                              "InvokeVerifier", "RevealWebhookSecrets"}),
                          ("RepliesRole", {"WriteOwnLogs", "ManageVpcInterfaces",
                                           "DecryptSenderCredentials"}),
                          ("VerifierRole", {"WriteOwnLogs", "ManageVpcInterfaces",
                                            "DecryptSenderCredentials"}),
                          ("WebhooksRole", {"WriteOwnLogs", "ManageVpcInterfaces",
                                            "DecryptSenderCredentials"}),
                          ("ImportsRole", {"WriteOwnLogs", "ManageVpcInterfaces",
                                           "ConsumeImportQueue", "ReadUploads",
                                           "ListUploads"})):
        statements = _statements(resources, role)
        assert {s["Sid"] for s in statements} == allowed | {"ReadAppSecret"}
        secret = next(s for s in statements if s["Sid"] == "ReadAppSecret")
        assert secret["Action"] == ["secretsmanager:GetSecretValue"]
        assert secret["Resource"] == [{"Ref": "AppSecret"}]
        for statement in statements:
            # Only ENI management, which IAM cannot scope, may name every resource.
            assert statement["Resource"] != ["*"] or statement["Sid"] == "ManageVpcInterfaces"
            assert all(not action.endswith("*") for action in statement["Action"])


def test_the_credentials_key_and_its_grants_are_in_the_template(packaged: Path) -> None:
    """As deploy.py makes them: the API encrypts, and decrypts webhook signing secrets
    only; the sender, the poller, the verifier and the webhook dispatcher decrypt; the API
    invokes the verifier (and nothing else) to check a stored account."""
    resources = _template(packaged)["Resources"]
    key = {"Fn::GetAtt": ["CredentialsKey", "Arn"]}
    assert resources["CredentialsKey"]["Properties"]["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert resources["CredentialsKeyAlias"]["Properties"] == {
        "AliasName": "alias/emailsched-test-credentials",
        "TargetKeyId": {"Ref": "CredentialsKey"}}
    kms = {role: sorted(a for s in _statements(resources, role) for a in s["Action"]
                        if a.startswith("kms:"))
           for role in ("ApiHandlerRole", "SenderRole", "PumpRole", "RepliesRole",
                        "ImportsRole", "VerifierRole", "WebhooksRole")}
    assert kms == {"ApiHandlerRole": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
                   "SenderRole": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
                   "RepliesRole": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
                   "VerifierRole": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
                   "WebhooksRole": ["kms:Decrypt", "kms:DescribeKey"],
                   "PumpRole": [], "ImportsRole": []}
    reveal = next(s for s in _statements(resources, "ApiHandlerRole")
                  if s["Sid"] == "RevealWebhookSecrets")
    assert (reveal["Action"], reveal["Condition"]) == (
        ["kms:Decrypt"], {"StringLike": {"kms:EncryptionContext:context": "webhook:*"}})
    for role in kms:
        for statement in _statements(resources, role):
            if any(a.startswith("kms:") for a in statement["Action"]):
                assert statement["Resource"] == [key]
            if role != "ApiHandlerRole":
                assert not any(a.startswith("lambda:") for a in statement["Action"])
    invoke = next(s for s in _statements(resources, "ApiHandlerRole")
                  if s["Sid"] == "InvokeVerifier")
    assert invoke["Action"] == ["lambda:InvokeFunction"]
    assert invoke["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:"
                                              "${AWS::AccountId}:function:"
                                              "emailsched-test-verifier"}]
    for logical in ("APIHandler", "Sender", "Replies", "Verifier", "Webhooks"):
        env = resources[logical]["Properties"]["Environment"]["Variables"]
        assert env["CREDENTIALS_KMS_KEY_ID"] == key, logical
    for logical in ("Pump", "Imports"):
        env = resources[logical]["Properties"]["Environment"]["Variables"]
        assert "CREDENTIALS_KMS_KEY_ID" not in env, logical
    api_env = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert api_env["VERIFIER_FUNCTION_NAME"] == "emailsched-test-verifier"
    verifier = resources["Verifier"]["Properties"]
    assert (verifier["Timeout"], verifier["MemorySize"],
            verifier["ReservedConcurrentExecutions"]) == (25, 256, 2)


def test_api_routes_reach_the_api_handler(packaged: Path) -> None:
    resources = _template(packaged)["Resources"]
    swagger = resources["RestAPI"]["Properties"]["DefinitionBody"]
    assert {"/emails/schedule", "/emails/scheduled", "/batches/{batch_id}/cancel",
            "/auth/google-login"} <= set(swagger["paths"])
    integration = swagger["paths"]["/emails/schedule"]["post"]["x-amazon-apigateway-integration"]
    assert "${APIHandler.Arn}" in integration["uri"]["Fn::Sub"]
    assert resources["RestAPI"]["Properties"]["StageName"] == "api"


def test_api_concurrency_and_the_reply_poller_are_in_the_template(packaged: Path) -> None:
    resources = _template(packaged)["Resources"]
    assert resources["APIHandler"]["Properties"]["ReservedConcurrentExecutions"] == 7
    replies = resources["Replies"]["Properties"]
    assert (replies["Timeout"], replies["MemorySize"]) == (60, 256)
    assert [(e["Type"], e["Properties"]["Schedule"]) for e in replies["Events"].values()] == [
        ("Schedule", "rate(2 minutes)")]
    env = replies["Environment"]["Variables"]
    assert (env["REPLY_POLL_SECONDS"], env["DB_POOL_SIZE"], env["DB_MAX_OVERFLOW"]) == (
        "120", "1", "0")


def test_unsubscribe_links_use_the_api_url_and_need_no_authorizer(packaged: Path) -> None:
    template = _template(packaged)
    resources = template["Resources"]
    url = {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"}
    for logical in ("Sender", "APIHandler"):
        assert resources[logical]["Properties"]["Environment"]["Variables"]["PUBLIC_URL"] == url
    swagger = resources["RestAPI"]["Properties"]["DefinitionBody"]
    assert "securityDefinitions" not in swagger
    for method in ("get", "post"):
        operation = swagger["paths"]["/u/{token}"][method]
        assert "security" not in operation
        assert "${APIHandler.Arn}" in operation["x-amazon-apigateway-integration"]["uri"][
            "Fn::Sub"]


def test_imports_function_queue_and_bucket_are_in_the_template(packaged: Path) -> None:
    resources = _template(packaged)["Resources"]
    queue = resources["ImportQueue"]["Properties"]
    assert queue["QueueName"] == "emailsched-test-imports"
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["ImportDeadLetterQueue", "Arn"]},
        "maxReceiveCount": IMPORT_MAX_RECEIVE_COUNT}
    assert resources["ImportDeadLetterQueue"]["Properties"] == {
        "QueueName": "emailsched-test-imports-dlq", "MessageRetentionPeriod": RETENTION_SECONDS}
    imports = resources["Imports"]
    properties = imports["Properties"]
    assert (properties["Timeout"], properties["MemorySize"]) == (IMPORT_TIMEOUT_SECONDS, 1024)
    assert queue["VisibilityTimeout"] > properties["Timeout"]
    assert imports["DependsOn"] == ["ImportQueue"]
    events = properties["Events"]
    assert list(events) == ["ImportsSqsEventSource"]
    assert events["ImportsSqsEventSource"]["Properties"] == {
        "Queue": {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}"
                             ":emailsched-test-imports"},
        "BatchSize": 1, "MaximumBatchingWindowInSeconds": 0,
        "ScalingConfig": {"MaximumConcurrency": 2}}
    env = properties["Environment"]["Variables"]
    assert (env["DB_POOL_SIZE"], env["DB_MAX_OVERFLOW"]) == ("1", "0")
    for logical in ("Imports", "APIHandler"):
        variables = resources[logical]["Properties"]["Environment"]["Variables"]
        assert variables["IMPORT_BUCKET"] == {"Ref": "ImportBucket"}
        assert variables["IMPORT_QUEUE_NAME"] == "emailsched-test-imports"
    bucket = resources["ImportBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert [(r["Status"], r["ExpirationInDays"]) for r in
            bucket["LifecycleConfiguration"]["Rules"]] == [("Enabled", 2)]
    assert [r["AllowedMethods"] for r in bucket["CorsConfiguration"]["CorsRules"]] == [["PUT"]]
    objects = {"Fn::Sub": "${ImportBucket.Arn}/*"}
    arn = {"Fn::GetAtt": ["ImportBucket", "Arn"]}
    api = {s["Sid"]: s for s in _statements(resources, "ApiHandlerRole")}
    assert (sorted(api["PresignUploads"]["Action"]), api["PresignUploads"]["Resource"]) == (
        ["s3:GetObject", "s3:PutObject"], [objects])
    assert (api["ListUploads"]["Action"], api["ListUploads"]["Resource"]) == (
        ["s3:ListBucket"], [arn])
    assert api["StartImports"]["Resource"] == [{"Fn::GetAtt": ["ImportQueue", "Arn"]}]
    job = {s["Sid"]: s for s in _statements(resources, "ImportsRole")}
    assert (sorted(job["ReadUploads"]["Action"]), job["ReadUploads"]["Resource"]) == (
        ["s3:DeleteObject", "s3:GetObject"], [objects])
    assert "sqs:SendMessage" in job["ConsumeImportQueue"]["Action"]
    assert job["ConsumeImportQueue"]["Resource"] == [{"Fn::GetAtt": ["ImportQueue", "Arn"]}]


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory, aws_env: dict[str, str],
            snapshot: Path) -> Path:
    """deploy.py --package --rds-proxy."""
    from tests.infra.support import CHOICES, run_deploy

    root = tmp_path_factory.mktemp("proxied")
    project = root / "functions"
    project.mkdir()
    for name in ("app.py", "requirements.txt"):
        shutil.copy2(snapshot / "functions" / name, project / name)
    run_deploy(["--package", str(root / "out"), "--rds-proxy", *CHOICES], aws_env, project,
               snapshot / "layer")
    return root / "out"


def test_rds_proxy_template_passes_cfn_lint_and_points_the_functions_at_it(
        proxied: Path) -> None:
    lint = Path(sys.executable).with_name("cfn-lint")
    done = subprocess.run([str(lint), str(proxied / "sam.json")], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    template = _template(proxied)
    resources = template["Resources"]
    proxy = resources["DbProxy"]["Properties"]
    assert (proxy["EngineFamily"], proxy["RequireTLS"]) == ("POSTGRESQL", True)
    assert proxy["Auth"] == [{"AuthScheme": "SECRETS", "IAMAuth": "DISABLED",
                              "SecretArn": {"Ref": "DbProxySecret"}}]
    assert proxy["RoleArn"] == {"Fn::GetAtt": ["DbProxyRole", "Arn"]}
    assert proxy["VpcSecurityGroupIds"] == ["sg-0123456789abcdef0"]
    assert len(proxy["VpcSubnetIds"]) == 2
    targets = resources["DbProxyTargetGroup"]["Properties"]
    assert targets["DBProxyName"] == {"Ref": "DbProxy"}
    assert targets["DBInstanceIdentifiers"] == [{"Ref": "DbInstanceIdentifier"}]
    role = resources["DbProxyRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "rds.amazonaws.com"}
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert [(s["Action"], s["Resource"]) for s in statements] == [
        (["secretsmanager:GetSecretValue"], [{"Ref": "DbProxySecret"}])]
    # DATABASE_URL (in the app secret the functions read at cold start) names the proxy.
    app_secret = resources["AppSecret"]["Properties"]["SecretString"]["Fn::Sub"]
    assert ('"DATABASE_URL": "postgresql+pg8000://${DbUser}:${DbPassword}@'
            '${DbProxy.Endpoint}:5432/${DbName}"') in app_secret
    assert "DatabaseUrl" not in template["Parameters"]
    assert template["Parameters"]["DbPassword"]["NoEcho"] is True
