"""Issue 19 on moto: what deploy.py adds for operations. Alarms to an SNS topic, a
CloudWatch dashboard, secrets read at cold start (no value in any function's
configuration; the settings still resolve), and the hosted dashboard (bucket, CloudFront,
config.js naming the API, CORS allowing its origin). The second run changing nothing is
test_deploy_against_moto.py's test_second_run_changes_nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.infra.support import ALARM_EMAIL, REPO, SECRETS, Deployed, client

pytestmark = pytest.mark.integration
FUNCTIONS = {"api_handler": "emailsched-test", "sender": "emailsched-test-sender",
             "pump": "emailsched-test-pump", "replies": "emailsched-test-replies",
             "imports": "emailsched-test-imports"}


def test_alarms_go_to_the_topic_with_their_thresholds(deployed: Deployed, session: Any,
                                                      aws: dict[str, str]) -> None:
    sns = client(session, aws, "sns")
    topics = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert [t.rsplit(":", 1)[1] for t in topics] == ["emailsched-test-alarms"]
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topics[0])["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", ALARM_EMAIL)]
    found = {a["AlarmName"]: a for a in
             client(session, aws, "cloudwatch").describe_alarms()["MetricAlarms"]}
    assert sorted(found) == sorted(f"emailsched-test-{n}" for n in (
        "dead-letters", "sender-errors", "replies-errors", "pump-stopped", "failure-rate",
        "hard-bounce-rate", "send-queue-age", "imports-errors", "import-dead-letters"))
    for alarm in found.values():
        assert alarm["AlarmActions"] == topics
    dlq = found["emailsched-test-dead-letters"]
    assert (dlq["MetricName"], dlq["Threshold"], dlq["ComparisonOperator"]) == (
        "ApproximateNumberOfMessagesVisible", 0, "GreaterThanThreshold")
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": "emailsched-test-send-dlq"}]
    pump = found["emailsched-test-pump-stopped"]
    assert (pump["MetricName"], pump["Period"], pump["Threshold"], pump["TreatMissingData"]) == (
        "Invocations", 300, 1, "breaching")
    assert pump["ComparisonOperator"] == "LessThanThreshold"
    errors = found["emailsched-test-sender-errors"]
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": "emailsched-test-sender"}]
    replies = found["emailsched-test-replies-errors"]
    assert (replies["MetricName"], replies["Threshold"], replies["Period"]) == ("Errors", 1, 900)
    assert replies["Dimensions"] == [{"Name": "FunctionName",
                                      "Value": "emailsched-test-replies"}]
    imports = found["emailsched-test-imports-errors"]
    assert (imports["MetricName"], imports["Period"]) == ("Errors", 900)
    assert imports["Dimensions"] == [{"Name": "FunctionName",
                                      "Value": "emailsched-test-imports"}]
    import_dlq = found["emailsched-test-import-dead-letters"]
    assert import_dlq["Dimensions"] == [{"Name": "QueueName",
                                         "Value": "emailsched-test-imports-dlq"}]
    rate = found["emailsched-test-failure-rate"]
    assert rate["Threshold"] == 5
    stats = {m["Id"]: m["MetricStat"]["Metric"] for m in rate["Metrics"] if "MetricStat" in m}
    assert stats["failed"]["Namespace"] == "emailsched"
    assert stats["failed"]["MetricName"] == "emails_failed"
    assert stats["failed"]["Dimensions"] == [{"Name": "service", "Value": "emailsched-test"}]
    bounce = found["emailsched-test-hard-bounce-rate"]
    bad = next(m for m in bounce["Metrics"] if m["Id"] == "bad")["MetricStat"]["Metric"]
    assert {"Name": "class", "Value": "hard_bounce"} in bad["Dimensions"]


def test_dashboard_shows_the_same_figures(deployed: Deployed, session: Any,
                                          aws: dict[str, str]) -> None:
    body = json.loads(client(session, aws, "cloudwatch").get_dashboard(
        DashboardName="emailsched-test")["DashboardBody"])
    names = {m[1] for w in body["widgets"] for m in w["properties"]["metrics"]}
    assert {"emails_sent", "emails_failed", "lateness_ms", "send_latency_ms", "pump_claimed",
            "queue_depth", "dead_letter_depth", "Invocations", "Errors",
            "ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible"} <= names


def test_each_role_may_read_only_the_stage_secret(deployed: Deployed, session: Any,
                                                  aws: dict[str, str]) -> None:
    iam = client(session, aws, "iam")
    arn = client(session, aws, "secretsmanager").describe_secret(
        SecretId="emailsched/test/app")["ARN"]
    for role in FUNCTIONS:
        name = f"emailsched-test-{role}"
        statements = [s for p in iam.list_role_policies(RoleName=name)["PolicyNames"]
                      for s in iam.get_role_policy(RoleName=name, PolicyName=p)
                      ["PolicyDocument"]["Statement"]]
        secret_statements = [s for s in statements
                             if any(a.startswith("secretsmanager:") for a in s["Action"])]
        assert [(s["Action"], s["Resource"]) for s in secret_statements] == [
            (["secretsmanager:GetSecretValue"], [arn])]


START = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
from emailsched.settings import Settings
s = Settings()
print(json.dumps({"DATABASE_URL": s.DATABASE_URL, "REDIS_URL": s.REDIS_URL,
                  "SESSION_SECRET": s.SESSION_SECRET, "pool": s.db_pool()}))
if os.environ["AWS_LAMBDA_FUNCTION_NAME"] == "emailsched-test":
    from chalice.test import Client
    import app
    with Client(app.app) as c:
        r = c.http.request("OPTIONS", "/auth/config", headers={"Origin": sys.argv[2]})
        print(json.dumps({"status": r.status_code, "headers": dict(r.headers)}))
"""


def _start(deployed: Deployed, session: Any, aws: dict[str, str], name: str,
           origin: str = "") -> list[dict[str, Any]]:
    """Start `name` the way Lambda would: only its configured environment (plus the
    emulator's endpoint and credentials, which Lambda gives through its role)."""
    env = client(session, aws, "lambda").get_function(FunctionName=name)[
        "Configuration"]["Environment"]["Variables"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in SECRETS
             and k not in ("APP_SECRET_ARN",)}
    done = subprocess.run(
        [sys.executable, "-c", START, str(deployed.project_dir), origin],
        env={**clean, **aws, **env, "AWS_LAMBDA_FUNCTION_NAME": name,
             "PYTHONPATH": str(REPO / "layers" / "common" / "python")},
        capture_output=True, text=True, timeout=120, cwd="/tmp")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_functions_resolve_their_settings_through_secrets_manager(
        deployed: Deployed, session: Any, aws: dict[str, str]) -> None:
    for role, name in FUNCTIONS.items():
        settings = _start(deployed, session, aws, name)[0]
        assert settings["DATABASE_URL"] == SECRETS["DATABASE_URL"]
        assert settings["REDIS_URL"] == SECRETS["REDIS_URL"]
        assert settings["SESSION_SECRET"] == SECRETS["SESSION_SECRET"]
        size = 2 if role == "sender" else 1
        assert settings["pool"] == {"pool_size": size, "max_overflow": 0, "pool_timeout": 10.0}


def _site(session: Any, aws: dict[str, str]) -> tuple[str, str]:
    distributions = client(session, aws, "cloudfront").list_distributions()[
        "DistributionList"]["Items"]
    assert [d["Comment"] for d in distributions] == ["emailsched-test-dashboard"]
    return "emailsched-test-dashboard-123456789012", f"https://{distributions[0]['DomainName']}"


def test_dashboard_is_hosted_with_a_config_naming_the_api(deployed: Deployed, session: Any,
                                                          aws: dict[str, str]) -> None:
    bucket, origin = _site(session, aws)
    s3 = client(session, aws, "s3")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys == {"index.html", "config.js", "assets/app-1.js"}
    config = s3.get_object(Bucket=bucket, Key="config.js")["Body"].read().decode()
    record = json.loads((deployed.project_dir / ".chalice" / "deployed" / "test.json")
                        .read_text())
    api_url = next(r["rest_api_url"] for r in record["resources"]
                   if r["resource_type"] == "rest_api")
    assert f'"apiBaseUrl": "{api_url.rstrip("/")}"' in config
    assert '"googleClientId": "client.apps.example"' in config
    assert s3.head_object(Bucket=bucket, Key="index.html")["ContentType"] == "text/html"
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert policy["Statement"][0]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert f"open           {origin}" in deployed.first


def test_api_cors_allows_the_dashboard_origin(deployed: Deployed, session: Any,
                                              aws: dict[str, str]) -> None:
    _, origin = _site(session, aws)
    env = client(session, aws, "lambda").get_function(FunctionName=FUNCTIONS["api_handler"])[
        "Configuration"]["Environment"]["Variables"]
    assert origin in env["DASHBOARD_ORIGINS"].split(",")
    answer = _start(deployed, session, aws, FUNCTIONS["api_handler"], origin)[1]
    assert answer["status"] == 204
    headers = {k.lower(): v for k, v in answer["headers"].items()}
    assert headers["access-control-allow-origin"] == origin
