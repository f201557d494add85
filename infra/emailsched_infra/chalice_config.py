"""The stage's Chalice configuration (functions/.chalice/config.json) and policy files.

config.json is the stage's record of its choices: a flag not given on this run keeps the
value the stage already has, so running deploy.py again with no flags changes nothing.
Secret values never go into it (see chalice_run.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emailsched.adapters.queues import IMPORT_TIMEOUT_SECONDS, SENDER_TIMEOUT_SECONDS
from emailsched_infra.stage import (
    API_HANDLER,
    APP_NAME,
    FUNCTIONS,
    IMPORTS,
    PUMP,
    REPLIES,
    SENDER,
    VERIFIER,
    WEBHOOKS,
    Stage,
)

# API Gateway gives up on an integration after 29 s: a longer API timeout buys nothing.
API_TIMEOUT_SECONDS = 29
# The pump runs every minute; one run must end before the next starts.
PUMP_TIMEOUT_SECONDS = 60
# The reply poller works within its invocation's time left (services/replies.py stops
# SAFETY_SECONDS before it, checkpointing per chunk) and runs every REPLY_POLL_SECONDS: a
# minute is enough for a few mailboxes per run, the next run takes the least recently polled.
REPLIES_TIMEOUT_SECONDS = 60
# IMAP fetches and parses one chunk of messages at a time: it needs less than the others.
REPLIES_MEMORY_MB = 256
REPLY_POLL_SECONDS = 60  # Settings' default
# The import job streams an uploaded CSV from S3 and COPYs it into Postgres in chunks,
# up to Lambda's 15 minutes (the imports queue hides a message a minute longer, see
# adapters.queues), then goes on from its checkpoint in a next invocation. At least 1 GB:
# a chunk of rows and its planning are held in memory, and CPU comes with memory.
IMPORTS_TIMEOUT_SECONDS = IMPORT_TIMEOUT_SECONDS
IMPORTS_MEMORY_MB = 1024
# Imports running at once (the SQS event source's MaximumConcurrency, at least 2): each
# holds one Postgres connection.
IMPORTS_CONCURRENCY = 2
# The verifier checks a stored sender account (connect, TLS, AUTH; SMTP then IMAP, each
# within SENDER_VERIFY_TIMEOUT_SECONDS) while the API waits for its answer: it must end
# before the API's own timeout. Two at once at most (each holds one Postgres connection).
VERIFIER_TIMEOUT_SECONDS = 25
VERIFIER_MEMORY_MB = 256
VERIFIER_CONCURRENCY = 2
# The webhook dispatcher delivers for its invocation's time left (all but the 20 s an
# attempt in flight may need), every minute: 90 s makes consecutive runs overlap, so
# delivery never pauses between them, and overlapping dispatchers are safe (claims are
# FOR UPDATE SKIP LOCKED; each run holds up to 4 connections). It waits on HTTP, not CPU,
# and decrypts the endpoints' signing secrets (the credentials key).
WEBHOOKS_TIMEOUT_SECONDS = 90
WEBHOOKS_MEMORY_MB = 256
# Functions that use the sender passwords' key get its id: the API encrypts with it, the
# others decrypt (policies.KEY_ACTIONS).
KEY_USERS = (API_HANDLER, SENDER, REPLIES, VERIFIER, WEBHOOKS)
METRICS_NAMESPACE = "emailsched"
# Postgres connections per container. A Lambda container serves one invocation at a time:
# the API and the pump need one; the sender two (a message's pinned connection, and the
# limiter rebuilding a lost window from the ledger meanwhile). No overflow anywhere, so
# connections <= 1 x API concurrency + 2 x sender concurrency + 1 (pump) + 1 (replies;
# a scheduled function runs one invocation at a time unless a run outlasts its rate)
# + IMPORTS_CONCURRENCY x 1 (imports) + VERIFIER_CONCURRENCY x 1 (verifier).
DB_POOLS: dict[str, dict[str, int]] = {
    API_HANDLER: {"DB_POOL_SIZE": 1, "DB_MAX_OVERFLOW": 0},
    SENDER: {"DB_POOL_SIZE": 2, "DB_MAX_OVERFLOW": 0},
    PUMP: {"DB_POOL_SIZE": 1, "DB_MAX_OVERFLOW": 0},
    REPLIES: {"DB_POOL_SIZE": 1, "DB_MAX_OVERFLOW": 0},
    IMPORTS: {"DB_POOL_SIZE": 1, "DB_MAX_OVERFLOW": 0},
    VERIFIER: {"DB_POOL_SIZE": 1, "DB_MAX_OVERFLOW": 0},
    # One connection per dispatcher thread holds its claim for the length of a batch.
    WEBHOOKS: {"DB_POOL_SIZE": 4, "DB_MAX_OVERFLOW": 0},
}
# The API presigns uploads and starts import jobs; the job reads and deletes the upload.
IMPORT_USERS = (API_HANDLER, IMPORTS)
DEFAULTS: dict[str, Any] = {
    "memory_mb": 512,
    # Each sender instance holds a few Postgres connections: this caps them, and the
    # event source's MaximumConcurrency keeps SQS from invoking past it (event_source.py).
    "sender_concurrency": 5,
    "batching_window_seconds": 1,
    # Most API containers at once. Each holds one Postgres connection (DB_POOL_SIZE 1), so
    # this bounds the API's share of the database's connections in a traffic spike.
    "api_concurrency": 10,
    # Where unsubscribe links point (PUBLIC_URL): None = the stage's API Gateway URL.
    "public_url": None,
    # An RDS Proxy between the functions and Postgres (template.py; needs a VPC).
    "rds_proxy": False,
    "subnet_ids": [],
    "security_group_ids": [],
}


@dataclass(frozen=True)
class StageChoices:
    """What a stage is deployed with; None means 'keep what the stage has'."""

    memory_mb: int | None = None
    sender_concurrency: int | None = None
    batching_window_seconds: int | None = None
    api_concurrency: int | None = None
    public_url: str | None = None  # PUBLIC_URL of the sender's links; default: the API's URL
    rds_proxy: bool | None = None  # --rds-proxy: the functions reach Postgres through one
    subnet_ids: list[str] | None = None
    security_group_ids: list[str] | None = None
    settings: dict[str, str] = field(default_factory=dict)  # non-secret environment
    unset: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Resolved:
    memory_mb: int
    sender_concurrency: int
    batching_window_seconds: int
    api_concurrency: int
    public_url: str | None
    rds_proxy: bool
    subnet_ids: list[str]
    security_group_ids: list[str]
    settings: dict[str, str]

    @property
    def vpc(self) -> bool:
        return bool(self.subnet_ids)


def load(project_dir: Path) -> dict[str, Any]:
    path = project_dir / ".chalice" / "config.json"
    if path.exists():
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded
    return {"version": "2.0", "app_name": APP_NAME, "stages": {}}


def resolve(choices: StageChoices, config: dict[str, Any], stage: Stage) -> Resolved:
    """Flags first, then the stage's recorded values, then the defaults."""
    recorded = config.get("stages", {}).get(stage.name, {}).get("x-emailsched", {})
    chosen = {name: getattr(choices, name) for name in DEFAULTS}
    values = {name: chosen[name] if chosen[name] is not None
              else recorded.get(name, DEFAULTS[name]) for name in DEFAULTS}
    settings = {**recorded.get("settings", {}), **choices.settings}
    for name in choices.unset:
        settings.pop(name, None)
    resolved = Resolved(settings=settings, **values)
    if resolved.sender_concurrency < 2:
        raise SystemExit("--sender-concurrency must be at least 2 (the least MaximumConcurrency "
                         "an SQS event source takes)")
    if resolved.api_concurrency < 1:
        raise SystemExit("--api-concurrency must be at least 1")
    if resolved.rds_proxy and not resolved.vpc:
        raise SystemExit("--rds-proxy needs --subnet-ids and --security-group-ids (a proxy "
                         "lives in the database's VPC)")
    if resolved.public_url and not resolved.public_url.startswith(("https://", "http://")):
        raise SystemExit("--public-url must be an http(s) URL")
    if bool(resolved.subnet_ids) != bool(resolved.security_group_ids):
        raise SystemExit("give both --subnet-ids and --security-group-ids, or neither")
    return resolved


def dashboard_origins(resolved: Resolved) -> list[str]:
    """DASHBOARD_ORIGINS as a list: the origins the API answers CORS for, and that may PUT
    uploads to the imports bucket."""
    return [o.strip() for o in resolved.settings.get("DASHBOARD_ORIGINS", "").split(",")
            if o.strip()]


def stage_config(stage: Stage, resolved: Resolved, layer_arn: str,
                 secret_arn: str | None = None, key_arn: str | None = None,
                 public_url: str | None = None,
                 import_bucket: str | None = None) -> dict[str, Any]:
    """The stage's entry in config.json: everything but secret values. The functions find
    those through APP_SECRET_ARN at cold start (emailsched.adapters.secrets). `public_url`:
    PUBLIC_URL of the API and the sender (unsubscribe links), when known. `import_bucket`:
    IMPORT_BUCKET of the API and the import job (the template sets it otherwise)."""
    environment = {**resolved.settings, "SEND_QUEUE_NAME": stage.queue_name,
                   "IMPORT_QUEUE_NAME": stage.import_queue_name,
                   "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                   "POWERTOOLS_SERVICE_NAME": f"{APP_NAME}-{stage.name}"}
    if secret_arn:
        environment["APP_SECRET_ARN"] = secret_arn
    config: dict[str, Any] = {
        "api_gateway_stage": "api",
        "autogen_policy": False,
        "lambda_memory_size": resolved.memory_mb,
        "layers": [layer_arn],
        "environment_variables": environment,
        "lambda_functions": {
            API_HANDLER: {"lambda_timeout": API_TIMEOUT_SECONDS,
                          "reserved_concurrency": resolved.api_concurrency},
            SENDER: {"lambda_timeout": SENDER_TIMEOUT_SECONDS,
                     "reserved_concurrency": resolved.sender_concurrency},
            PUMP: {"lambda_timeout": PUMP_TIMEOUT_SECONDS},
            REPLIES: {"lambda_timeout": REPLIES_TIMEOUT_SECONDS,
                      "lambda_memory_size": min(REPLIES_MEMORY_MB, resolved.memory_mb)},
            IMPORTS: {"lambda_timeout": IMPORTS_TIMEOUT_SECONDS,
                      "lambda_memory_size": max(IMPORTS_MEMORY_MB, resolved.memory_mb)},
            VERIFIER: {"lambda_timeout": VERIFIER_TIMEOUT_SECONDS,
                       "lambda_memory_size": min(VERIFIER_MEMORY_MB, resolved.memory_mb),
                       "reserved_concurrency": VERIFIER_CONCURRENCY},
            WEBHOOKS: {"lambda_timeout": WEBHOOKS_TIMEOUT_SECONDS,
                       "lambda_memory_size": min(WEBHOOKS_MEMORY_MB,
                                                 resolved.memory_mb)},
        },
        # Chalice ignores keys it does not know; deploy.py keeps the choices it derives
        # the rest from here, so the next run starts from them.
        "x-emailsched": {
            "memory_mb": resolved.memory_mb,
            "sender_concurrency": resolved.sender_concurrency,
            "batching_window_seconds": resolved.batching_window_seconds,
            "api_concurrency": resolved.api_concurrency,
            "public_url": resolved.public_url,
            "rds_proxy": resolved.rds_proxy,
            "subnet_ids": resolved.subnet_ids,
            "security_group_ids": resolved.security_group_ids,
            "settings": resolved.settings,
        },
    }
    for function in FUNCTIONS:
        config["lambda_functions"][function]["iam_policy_file"] = stage.policy_file(function)
        config["lambda_functions"][function]["environment_variables"] = {
            name: str(value) for name, value in DB_POOLS[function].items()}
        own = config["lambda_functions"][function]["environment_variables"]
        if key_arn and function in KEY_USERS:  # the pump has no use for it
            own["CREDENTIALS_KMS_KEY_ID"] = key_arn
        if public_url and function in (API_HANDLER, SENDER):
            # The sender signs the links, the API serves them: both under the same URL.
            own["PUBLIC_URL"] = public_url
        if import_bucket and function in IMPORT_USERS:
            own["IMPORT_BUCKET"] = import_bucket
    # The API may not decrypt sender passwords: it invokes the verifier to check one.
    config["lambda_functions"][API_HANDLER]["environment_variables"][
        "VERIFIER_FUNCTION_NAME"] = stage.function_name(VERIFIER)
    # Read at deploy time too (app.py's schedule rate, chalice_run.chalice) and by the poller.
    config["lambda_functions"][REPLIES]["environment_variables"]["REPLY_POLL_SECONDS"] = (
        resolved.settings.get("REPLY_POLL_SECONDS", str(REPLY_POLL_SECONDS)))
    if resolved.vpc:
        config["subnet_ids"] = resolved.subnet_ids
        config["security_group_ids"] = resolved.security_group_ids
    return config


def write(project_dir: Path, config: dict[str, Any], stage: Stage, entry: dict[str, Any],
          policies: dict[str, dict[str, Any]]) -> None:
    """Write the stage's entry into config.json and its functions' policy files."""
    folder = project_dir / ".chalice"
    folder.mkdir(parents=True, exist_ok=True)
    config = {**config, "stages": {**config.get("stages", {}), stage.name: entry}}
    _write_json(folder / "config.json", config)
    for function, document in policies.items():
        _write_json(folder / stage.policy_file(function), document)


def _write_json(path: Path, document: Any) -> None:
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    # Unchanged content is not rewritten, so a second run leaves no trace even in mtimes.
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
