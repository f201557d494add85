"""Helpers for the deployment tests: constants, running deploy.py, reading the account."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "infra" / "deploy.py"
BUILD_DIR = REPO / "infra" / "build"
STAGE = "test"
SECRETS = {
    "DATABASE_URL": "postgresql+pg8000://emailsched:db-password@db.internal:5432/emailsched",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "SESSION_SECRET": "s" * 40,
}
ALARM_EMAIL = "oncall@example.com"
SUBNETS = "subnet-0123456789abcdef0,subnet-0fedcba9876543210"
SECURITY_GROUP = "sg-0123456789abcdef0"
CHOICES = ["--set", "GOOGLE_CLIENT_ID=client.apps.example", "--set", "PUMP_MAX_IN_FLIGHT=5000",
           "--set", "REPLY_POLL_SECONDS=120",
           "--subnet-ids", SUBNETS, "--security-group-ids", SECURITY_GROUP,
           "--sender-concurrency", "4", "--batching-window", "2", "--memory", "1024",
           "--api-concurrency", "7"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_server(log_dir: Path) -> Iterator[str]:
    """moto's server (with the Swagger shim of moto_server.py) on a free loopback port."""
    port = _free_port()
    log = (log_dir / "moto.log").open("w")
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("moto_server.py")), "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.2)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def client(session: Any, aws: dict[str, str], service: str) -> Any:
    return session.client(service, endpoint_url=aws["AWS_ENDPOINT_URL"])


@contextmanager
def build_lock() -> Iterator[None]:
    """One layer build at a time on this machine: the test files that deploy run in
    parallel workers, and every deploy builds into (and caches under) BUILD_DIR."""
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with (BUILD_DIR / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def run_deploy(args: list[str], env: dict[str, str], project_dir: Path, layer_dir: Path,
               stage: str = STAGE) -> str:
    """Run infra/deploy.py as a user would, with only `env` for AWS and secrets."""
    command = [sys.executable, str(DEPLOY), "--stage", stage, "--project-dir", str(project_dir),
               "--layer-dir", str(layer_dir), "--build-dir", str(BUILD_DIR), *args]
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("AWS_") and k not in SECRETS}
    with build_lock():
        done = subprocess.run(command, env={**clean, **env}, capture_output=True, text=True,
                              timeout=600)
    assert done.returncode == 0, f"deploy.py failed:\n{done.stdout}\n{done.stderr}"
    print(done.stdout)
    return done.stdout


def layer_sizes(output: str) -> str:
    """deploy.py's line on the layer it built: its zipped and unzipped size."""
    return next(line for line in output.splitlines() if line.startswith("layer zip"))


def lambda_runtime_sdk(target: Path) -> Path:
    """A stand-in for what Lambda's Python runtime has beside the standard library: boto3
    and its dependencies, copied from the layer build's (cached) dependency install."""
    from emailsched_infra import import_time, layer

    with build_lock():
        deps = layer.install_dependencies(
            layer.runtime_requirements(REPO / "pyproject.toml"), BUILD_DIR / "cache")
    return import_time.runtime_sdk(deps, target)


def account_state(session: Any, aws: dict[str, str]) -> dict[str, Any]:
    """Everything a deploy can change, as comparable data."""
    sqs, lam = client(session, aws, "sqs"), client(session, aws, "lambda")
    queues = {url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
              for url in sqs.list_queues().get("QueueUrls", [])}
    functions = {}
    for summary in lam.list_functions()["Functions"]:
        name = summary["FunctionName"]
        found = lam.get_function(FunctionName=name)
        functions[name] = {"configuration": found["Configuration"], "tags": found.get("Tags"),
                           "concurrency": found.get("Concurrency")}
    layers = {layer["LayerName"]: lam.list_layer_versions(LayerName=layer["LayerName"])
              ["LayerVersions"] for layer in lam.list_layers()["Layers"]}
    secrets = client(session, aws, "secretsmanager")
    apigateway = client(session, aws, "apigateway")
    apis = {api["id"]: [d["id"] for d in apigateway.get_deployments(restApiId=api["id"])
                        ["items"]] for api in apigateway.get_rest_apis()["items"]}
    iam = client(session, aws, "iam")
    cloudwatch, s3 = client(session, aws, "cloudwatch"), client(session, aws, "s3")
    sns = client(session, aws, "sns")
    topics = {t["TopicArn"]: sns.list_subscriptions_by_topic(TopicArn=t["TopicArn"])
              ["Subscriptions"] for t in sns.list_topics()["Topics"]}
    buckets = {b["Name"]: [(o["Key"], o["ETag"], str(o["LastModified"]))
                           for o in s3.list_objects_v2(Bucket=b["Name"]).get("Contents", [])]
               for b in s3.list_buckets()["Buckets"]}
    distributions = client(session, aws, "cloudfront").list_distributions()[
        "DistributionList"].get("Items", [])
    return json.loads(json.dumps({
        "alarms": cloudwatch.describe_alarms()["MetricAlarms"],
        "dashboards": [(d["DashboardName"], cloudwatch.get_dashboard(
            DashboardName=d["DashboardName"])["DashboardBody"])
            for d in cloudwatch.list_dashboards()["DashboardEntries"]],
        "topics": topics, "buckets": buckets,
        "distributions": [(d["Id"], d["ETag"] if "ETag" in d else d.get("Status"))
                          for d in distributions],
        "queues": queues, "functions": functions, "layers": layers,
        "mappings": lam.list_event_source_mappings()["EventSourceMappings"],
        "rules": client(session, aws, "events").list_rules()["Rules"],
        "secrets": [(s["Name"], sorted(s.get("SecretVersionsToStages", {})))
                    for s in secrets.list_secrets()["SecretList"]],
        "apis": apis,
        "roles": {r["RoleName"]: iam.list_role_policies(RoleName=r["RoleName"])["PolicyNames"]
                  for r in iam.list_roles()["Roles"]},
    }, default=str))


@dataclass(frozen=True)
class Deployed:
    first: str
    second: str
    before_second: dict[str, Any]
    after_second: dict[str, Any]
    project_dir: Path
