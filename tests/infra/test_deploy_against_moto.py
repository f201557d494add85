"""infra/deploy.py against moto's server: what a first run creates, and that a second run
changes nothing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from emailsched.adapters.import_objects import EXPIRE_AFTER_DAYS
from emailsched.adapters.queues import (
    IMPORT_MAX_RECEIVE_COUNT,
    IMPORT_TIMEOUT_SECONDS,
    MAX_RECEIVE_COUNT,
    SENDER_TIMEOUT_SECONDS,
    VISIBILITY_TIMEOUT_SECONDS,
)
from tests.infra.support import (
    SECRETS,
    SECURITY_GROUP,
    SUBNETS,
    Deployed,
    client,
    layer_sizes,
)

pytestmark = pytest.mark.integration

QUEUE, DLQ = "emailsched-test-send", "emailsched-test-send-dlq"
IMPORT_QUEUE, IMPORT_DLQ = "emailsched-test-imports", "emailsched-test-imports-dlq"
IMPORT_BUCKET = "emailsched-test-imports-123456789012"
FUNCTIONS = {"api": "emailsched-test", "sender": "emailsched-test-sender",
             "pump": "emailsched-test-pump", "replies": "emailsched-test-replies",
             "imports": "emailsched-test-imports", "verifier": "emailsched-test-verifier",
             "webhooks": "emailsched-test-webhooks"}


def _function(session: Any, aws: dict[str, str], name: str) -> dict[str, Any]:
    found: dict[str, Any] = client(session, aws, "lambda").get_function(FunctionName=name)
    return found


def test_send_queue_redrives_to_its_dead_letter_queue(deployed: Deployed, session: Any,
                                                      aws: dict[str, str]) -> None:
    sqs = client(session, aws, "sqs")
    dlq = sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=DLQ)["QueueUrl"],
                                   AttributeNames=["QueueArn"])["Attributes"]
    send = sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"],
                                    AttributeNames=["All"])["Attributes"]
    redrive = json.loads(send["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == MAX_RECEIVE_COUNT
    assert int(send["VisibilityTimeout"]) == VISIBILITY_TIMEOUT_SECONDS
    assert VISIBILITY_TIMEOUT_SECONDS >= 6 * SENDER_TIMEOUT_SECONDS


def test_secret_holds_the_connection_strings(deployed: Deployed, session: Any,
                                             aws: dict[str, str]) -> None:
    secret = client(session, aws, "secretsmanager").get_secret_value(
        SecretId="emailsched/test/app")
    assert json.loads(secret["SecretString"]) == SECRETS


def test_layer_is_published_once_and_used_by_every_function(
        deployed: Deployed, session: Any, aws: dict[str, str]) -> None:
    versions = client(session, aws, "lambda").list_layer_versions(
        LayerName="emailsched-test-common")["LayerVersions"]
    assert len(versions) == 1
    for name in FUNCTIONS.values():
        layers = _function(session, aws, name)["Configuration"]["Layers"]
        assert [layer["Arn"] for layer in layers] == [versions[0]["LayerVersionArn"]]


def test_readme_command_publishes_the_layer_with_no_bucket(deployed: Deployed, session: Any,
                                                           aws: dict[str, str],
                                                           record_property: Any) -> None:
    """`deploy.py --stage NAME` as the README gives it, no --artifact-bucket: the layer fits
    Lambda's direct upload, so no bucket is made or used."""
    sizes = layer_sizes(deployed.first)
    print(sizes)  # shown with -s, and in CI's log
    record_property("layer", sizes)
    zipped = float(re.search(r"([\d.]+) MiB zipped", sizes)[1])  # type: ignore[index]
    assert zipped <= 30, sizes
    assert not re.search(r"^artifacts ", deployed.first, re.M), deployed.first
    buckets = [b["Name"] for b in client(session, aws, "s3").list_buckets()["Buckets"]]
    assert not [name for name in buckets if "artifacts" in name], buckets


def test_functions_get_their_environment_timeouts_memory_and_vpc(
        deployed: Deployed, session: Any, aws: dict[str, str]) -> None:
    timeouts = {"api": 29, "sender": SENDER_TIMEOUT_SECONDS, "pump": 60, "replies": 60,
                "imports": IMPORT_TIMEOUT_SECONDS, "verifier": 25, "webhooks": 90}
    for role, name in FUNCTIONS.items():
        config = _function(session, aws, name)["Configuration"]
        env = config["Environment"]["Variables"]
        assert env["SEND_QUEUE_NAME"] == QUEUE
        assert env["GOOGLE_CLIENT_ID"] == "client.apps.example"
        assert env["PUMP_MAX_IN_FLIGHT"] == "5000"
        # No secret value in any configuration: only the secret's ARN.
        assert env["APP_SECRET_ARN"].startswith(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:emailsched/test/app")
        for value in SECRETS.values():
            assert value not in json.dumps(config)
        assert not {"DATABASE_URL", "REDIS_URL", "SESSION_SECRET", "SMTP_PASSWORD"} & set(env)
        # The webhook dispatcher: one connection per thread holds its claim.
        assert env["DB_POOL_SIZE"] == {"sender": "2", "webhooks": "4"}.get(role, "1")
        assert env["DB_MAX_OVERFLOW"] == "0"
        assert env["POWERTOOLS_SERVICE_NAME"] == "emailsched-test"
        assert not any(key.startswith("AWS_") for key in env)
        assert config["Timeout"] == timeouts[role]
        # The reply poller parses a chunk of messages at a time: 256 MB (REPLIES_MEMORY_MB).
        # So does the verifier (one account check at a time), and the webhook dispatcher
        # waits on HTTP.
        assert config["MemorySize"] == (
            256 if role in ("replies", "verifier", "webhooks") else 1024)
        assert config["Runtime"] == "python3.11"
        assert sorted(config["VpcConfig"]["SubnetIds"]) == sorted(SUBNETS.split(","))
        assert config["VpcConfig"]["SecurityGroupIds"] == [SECURITY_GROUP]


def test_sender_has_reserved_concurrency(deployed: Deployed, session: Any,
                                         aws: dict[str, str]) -> None:
    found = _function(session, aws, FUNCTIONS["sender"])
    assert found["Concurrency"]["ReservedConcurrentExecutions"] == 4
    api = _function(session, aws, FUNCTIONS["api"])
    assert api["Concurrency"]["ReservedConcurrentExecutions"] == 7


def test_sender_event_source_reports_batch_item_failures(
        deployed: Deployed, session: Any, aws: dict[str, str]) -> None:
    mappings = [m for m in client(session, aws, "lambda").list_event_source_mappings()[
        "EventSourceMappings"] if m["FunctionArn"].endswith(f":function:{FUNCTIONS['sender']}")]
    assert len(mappings) == 1
    mapping = mappings[0]
    assert mapping["EventSourceArn"].endswith(f":{QUEUE}")
    assert mapping["FunctionArn"].endswith(f":function:{FUNCTIONS['sender']}")
    assert mapping["BatchSize"] == 10
    assert mapping["MaximumBatchingWindowInSeconds"] == 2
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 4}


def test_pump_and_reply_poller_run_on_their_schedules(deployed: Deployed, session: Any,
                                                      aws: dict[str, str]) -> None:
    events = client(session, aws, "events")
    schedules = {}
    for rule in events.list_rules()["Rules"]:
        targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        for target in targets:
            schedules[target["Arn"].rsplit(":", 1)[1]] = rule["ScheduleExpression"]
    # The poller's rate is REPLY_POLL_SECONDS (support.CHOICES sets 120) in whole minutes.
    assert schedules == {FUNCTIONS["pump"]: "rate(1 minute)",
                         FUNCTIONS["replies"]: "rate(2 minutes)",
                         FUNCTIONS["webhooks"]: "rate(1 minute)"}


def test_each_function_role_allows_only_its_own_queue_actions(
        deployed: Deployed, session: Any, aws: dict[str, str]) -> None:
    iam = client(session, aws, "iam")
    actions = {}
    for role in ("sender", "pump", "api_handler", "replies", "imports", "verifier",
                 "webhooks"):
        name = f"emailsched-test-{role}"
        documents = [iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                     for p in iam.list_role_policies(RoleName=name)["PolicyNames"]]
        actions[role] = {(action, resource.rsplit(":", 1)[-1])
                         for doc in documents for s in doc["Statement"]
                         for action in s["Action"] for resource in s["Resource"]
                         if action.startswith("sqs:")}
    assert actions["sender"] == {
        ("sqs:ReceiveMessage", QUEUE), ("sqs:DeleteMessage", QUEUE),
        ("sqs:ChangeMessageVisibility", QUEUE), ("sqs:GetQueueAttributes", QUEUE),
        ("sqs:GetQueueUrl", QUEUE), ("sqs:SendMessage", DLQ), ("sqs:GetQueueUrl", DLQ)}
    assert actions["pump"] == {("sqs:SendMessage", QUEUE), ("sqs:GetQueueUrl", QUEUE)}
    # The API starts import jobs; the import function consumes and continues its own.
    assert actions["api_handler"] == {("sqs:SendMessage", IMPORT_QUEUE),
                                      ("sqs:GetQueueUrl", IMPORT_QUEUE)}
    assert actions["replies"] == set()
    assert actions["verifier"] == set()
    assert actions["webhooks"] == set()
    assert actions["imports"] == {
        ("sqs:ReceiveMessage", IMPORT_QUEUE), ("sqs:DeleteMessage", IMPORT_QUEUE),
        ("sqs:GetQueueAttributes", IMPORT_QUEUE), ("sqs:SendMessage", IMPORT_QUEUE),
        ("sqs:GetQueueUrl", IMPORT_QUEUE)}


def _granted(session: Any, aws: dict[str, str], prefix: str) -> dict[str, set[Any]]:
    """Each role's (action, resource) pairs whose action starts with `prefix`."""
    iam = client(session, aws, "iam")
    granted = {}
    for role in ("sender", "pump", "api_handler", "replies", "imports", "verifier",
                 "webhooks"):
        name = f"emailsched-test-{role}"
        documents = [iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                     for p in iam.list_role_policies(RoleName=name)["PolicyNames"]]
        granted[role] = {(action, resource) for doc in documents for s in doc["Statement"]
                         for action in s["Action"] for resource in s["Resource"]
                         if action.startswith(prefix)}
    return granted


def _api_decrypt_conditions(session: Any, aws: dict[str, str]) -> list[Any]:
    iam = client(session, aws, "iam")
    name = "emailsched-test-api_handler"
    documents = [iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                 for p in iam.list_role_policies(RoleName=name)["PolicyNames"]]
    return [s.get("Condition") for doc in documents for s in doc["Statement"]
            if "kms:Decrypt" in s["Action"]]


def test_only_the_verifier_sender_and_poller_may_decrypt_and_the_api_invokes_the_verifier(
        deployed: Deployed, session: Any, aws: dict[str, str]) -> None:
    """The API encrypts but cannot decrypt a stored password: POST /senders/{id}/verify
    asks the verifier function, the one function the API may invoke."""
    decrypting = {role for role, pairs in _granted(session, aws, "kms:").items()
                  if any(action == "kms:Decrypt" for action, _ in pairs)}
    # The API's Decrypt is conditional: webhook signing secrets only (below).
    assert decrypting == {"sender", "replies", "verifier", "webhooks", "api_handler"}
    assert _api_decrypt_conditions(session, aws) == [
        {"StringLike": {"kms:EncryptionContext:context": "webhook:*"}}]
    verifier = _function(session, aws, FUNCTIONS["verifier"])["Configuration"]
    invoking = _granted(session, aws, "lambda:")
    assert invoking["api_handler"] == {("lambda:InvokeFunction", verifier["FunctionArn"])}
    assert all(not pairs for role, pairs in invoking.items() if role != "api_handler")
    api_env = _function(session, aws, FUNCTIONS["api"])["Configuration"]["Environment"][
        "Variables"]
    assert api_env["VERIFIER_FUNCTION_NAME"] == FUNCTIONS["verifier"]
    assert verifier["Environment"]["Variables"]["CREDENTIALS_KMS_KEY_ID"].startswith(
        "arn:aws:kms:")
    # Two checks at once at most (each holds one Postgres connection).
    found = _function(session, aws, FUNCTIONS["verifier"])
    assert found["Concurrency"]["ReservedConcurrentExecutions"] == 2


def test_the_credentials_key_is_made_once_and_only_api_sender_and_poller_may_use_it(
        deployed: Deployed, session: Any, aws: dict[str, str]) -> None:
    kms = client(session, aws, "kms")
    key_arn = kms.describe_key(KeyId="alias/emailsched-test-credentials")["KeyMetadata"]["Arn"]
    aliases = [a for a in kms.list_aliases()["Aliases"]
               if a["AliasName"] == "alias/emailsched-test-credentials"]
    assert len(aliases) == 1
    granted: dict[str, set[Any]] = {}
    granted.update(_granted(session, aws, "kms:"))
    assert granted["api_handler"] == {("kms:GenerateDataKey", key_arn),
                                      ("kms:DescribeKey", key_arn),
                                      ("kms:Decrypt", key_arn)}  # webhook secrets only
    assert granted["sender"] == {("kms:Decrypt", key_arn), ("kms:DescribeKey", key_arn),
                                  ("kms:GenerateDataKey", key_arn)}
    # The poller decrypts IMAP passwords, stored like SMTP ones.
    assert granted["replies"] == {("kms:Decrypt", key_arn), ("kms:DescribeKey", key_arn),
                                  ("kms:GenerateDataKey", key_arn)}
    # The verifier checks a stored account for the API, which may not decrypt.
    assert granted["verifier"] == {("kms:Decrypt", key_arn), ("kms:DescribeKey", key_arn),
                                  ("kms:GenerateDataKey", key_arn)}
    # The webhook dispatcher signs with the endpoints' secrets, stored like passwords.
    assert granted["webhooks"] == {("kms:Decrypt", key_arn), ("kms:DescribeKey", key_arn)}
    assert granted["pump"] == set()
    assert granted["imports"] == set()
    for role, name in FUNCTIONS.items():
        env = _function(session, aws, name)["Configuration"]["Environment"]["Variables"]
        expected = None if role in ("pump", "imports") else key_arn
        assert env.get("CREDENTIALS_KMS_KEY_ID") == expected, role


def test_rest_api_is_deployed_to_its_stage(deployed: Deployed, session: Any,
                                           aws: dict[str, str]) -> None:
    apigateway = client(session, aws, "apigateway")
    apis = apigateway.get_rest_apis()["items"]
    assert [api["name"] for api in apis] == ["emailsched"]
    stages = apigateway.get_stages(restApiId=apis[0]["id"])["item"]
    assert [stage["stageName"] for stage in stages] == ["api"]


def test_second_run_changes_nothing(deployed: Deployed) -> None:
    steps = dict(re.findall(r"^(\w[\w ]*?) +(changed|unchanged) ", deployed.second, re.M))
    wanted = dict.fromkeys(["secret", "queues", "import queues", "credentials key",
                            "dashboard", "imports bucket", "layer", "chalice", "public url",
                            "event source", "import source", "alarms", "dashboard files"],
                           "unchanged")
    assert steps == wanted, deployed.second
    assert deployed.after_second == deployed.before_second


def test_config_records_choices_but_no_secret_values(deployed: Deployed) -> None:
    chalice_dir = deployed.project_dir / ".chalice"
    config_text = (chalice_dir / "config.json").read_text()
    for value in SECRETS.values():
        assert value not in config_text
    stage = json.loads(config_text)["stages"]["test"]
    assert stage["lambda_functions"]["sender"]["reserved_concurrency"] == 4
    assert stage["autogen_policy"] is False
    assert (chalice_dir / "deployed" / "test.json").exists()
    assert sorted(p.name for p in chalice_dir.glob("policy-test-*.json")) == [
        "policy-test-api_handler.json", "policy-test-imports.json", "policy-test-pump.json",
        "policy-test-replies.json", "policy-test-sender.json", "policy-test-verifier.json",
        "policy-test-webhooks.json"]


def test_sender_and_api_sign_and_serve_links_under_the_api_url(
        deployed: Deployed, session: Any, aws: dict[str, str]) -> None:
    record = json.loads((deployed.project_dir / ".chalice" / "deployed" / "test.json")
                        .read_text())
    api_url = next(r["rest_api_url"] for r in record["resources"]
                   if r["resource_type"] == "rest_api").rstrip("/")
    for role in ("sender", "api"):
        env = _function(session, aws, FUNCTIONS[role])["Configuration"]["Environment"][
            "Variables"]
        assert env["PUBLIC_URL"] == api_url, role
    for role in ("pump", "replies", "imports", "verifier"):
        env = _function(session, aws, FUNCTIONS[role])["Configuration"]["Environment"][
            "Variables"]
        assert "PUBLIC_URL" not in env, role
    # A first deploy learns the API's URL after creating it: the functions get it in a
    # second chalice pass; the second run of deploy.py knows it and deploys nothing.
    assert deployed.first.count("chalice        changed") == 2
    assert f"PUBLIC_URL={api_url}" in deployed.second


def test_reply_poller_gets_its_interval_and_the_credentials_key(
        deployed: Deployed, session: Any, aws: dict[str, str]) -> None:
    env = _function(session, aws, FUNCTIONS["replies"])["Configuration"]["Environment"][
        "Variables"]
    assert env["REPLY_POLL_SECONDS"] == "120"
    assert env["CREDENTIALS_KMS_KEY_ID"].startswith("arn:aws:kms:")
    assert (env["DB_POOL_SIZE"], env["DB_MAX_OVERFLOW"]) == ("1", "0")


def test_imports_bucket_is_private_expires_uploads_and_takes_puts_from_the_dashboard(
        deployed: Deployed, session: Any, aws: dict[str, str]) -> None:
    s3 = client(session, aws, "s3")
    assert s3.get_public_access_block(Bucket=IMPORT_BUCKET)[
        "PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True}
    rules = s3.get_bucket_lifecycle_configuration(Bucket=IMPORT_BUCKET)["Rules"]
    assert [(r["Status"], r["Expiration"]["Days"]) for r in rules] == [
        ("Enabled", EXPIRE_AFTER_DAYS)]
    assert EXPIRE_AFTER_DAYS == 2
    cors = s3.get_bucket_cors(Bucket=IMPORT_BUCKET)["CORSRules"]
    # The hosted dashboard's origin (the one the API's DASHBOARD_ORIGINS gets), PUT only.
    api_env = _function(session, aws, FUNCTIONS["api"])["Configuration"]["Environment"][
        "Variables"]
    origins = api_env["DASHBOARD_ORIGINS"].split(",")
    assert [(r["AllowedMethods"], r["AllowedOrigins"]) for r in cors] == [(["PUT"], origins)]
    assert all(o.startswith("https://") for o in origins)
    for role in ("api", "imports"):
        env = _function(session, aws, FUNCTIONS[role])["Configuration"]["Environment"][
            "Variables"]
        assert env["IMPORT_BUCKET"] == IMPORT_BUCKET, role
        assert env["IMPORT_QUEUE_NAME"] == IMPORT_QUEUE, role


def test_import_function_consumes_its_queue_one_job_at_a_time(
        deployed: Deployed, session: Any, aws: dict[str, str]) -> None:
    sqs, lam = client(session, aws, "sqs"), client(session, aws, "lambda")
    queue = sqs.get_queue_attributes(
        QueueUrl=sqs.get_queue_url(QueueName=IMPORT_QUEUE)["QueueUrl"],
        AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(
        QueueUrl=sqs.get_queue_url(QueueName=IMPORT_DLQ)["QueueUrl"],
        AttributeNames=["QueueArn"])["Attributes"]
    redrive = json.loads(queue["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == IMPORT_MAX_RECEIVE_COUNT
    config = _function(session, aws, FUNCTIONS["imports"])["Configuration"]
    # A message stays hidden while an invocation may still be working on it.
    assert int(queue["VisibilityTimeout"]) > config["Timeout"] == 900
    assert config["MemorySize"] == 1024
    env = config["Environment"]["Variables"]
    assert (env["DB_POOL_SIZE"], env["DB_MAX_OVERFLOW"]) == ("1", "0")
    mappings = [m for m in lam.list_event_source_mappings()["EventSourceMappings"]
                if m["FunctionArn"].endswith(f":function:{FUNCTIONS['imports']}")]
    assert [(m["EventSourceArn"], m["BatchSize"], m["ScalingConfig"]) for m in mappings] == [
        (queue["QueueArn"], 1, {"MaximumConcurrency": 2})]


def test_api_may_presign_uploads_and_the_import_function_may_read_them(
        deployed: Deployed, session: Any, aws: dict[str, str]) -> None:
    iam = client(session, aws, "iam")
    objects, bucket = f"arn:aws:s3:::{IMPORT_BUCKET}/*", f"arn:aws:s3:::{IMPORT_BUCKET}"
    granted = {}
    for role in ("sender", "pump", "api_handler", "replies", "imports"):
        name = f"emailsched-test-{role}"
        documents = [iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                     for p in iam.list_role_policies(RoleName=name)["PolicyNames"]]
        granted[role] = {(action, resource) for doc in documents for s in doc["Statement"]
                         for action in s["Action"] for resource in s["Resource"]
                         if action.startswith("s3:")}
    assert granted["api_handler"] == {("s3:PutObject", objects), ("s3:GetObject", objects),
                                      ("s3:ListBucket", bucket)}
    assert granted["imports"] == {("s3:GetObject", objects), ("s3:DeleteObject", objects),
                                  ("s3:ListBucket", bucket)}
    assert granted["sender"] == granted["pump"] == granted["replies"] == set()
