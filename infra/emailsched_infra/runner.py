"""The two things deploy.py does: deploy a stage to AWS, or package it for CloudFormation."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from emailsched_infra import (
    alarms,
    chalice_config,
    chalice_run,
    dashboard_site,
    event_source,
    imports_bucket,
    layer,
    layer_contents,
    settings_check,
)
from emailsched_infra.artifacts_bucket import ensure_artifacts_bucket
from emailsched_infra.chalice_config import StageChoices
from emailsched_infra.kms_key import ensure_credentials_key
from emailsched_infra.policies import cloudformation_refs, concrete_refs, function_policies
from emailsched_infra.stack import ensure_secret, ensure_stage_import_queues, ensure_stage_queues
from emailsched_infra.stage import FUNCTIONS, IMPORTS, SENDER, Stage
from emailsched_infra.template import (
    APP_SECRET,
    CREDENTIALS_KEY,
    DEAD_LETTER_QUEUE,
    IMPORT_BUCKET,
    IMPORT_QUEUE,
    LAYER_FILE,
    SEND_QUEUE,
    merge_template,
)


@dataclass(frozen=True)
class Options:
    stage: Stage
    choices: StageChoices
    project_dir: Path  # functions/
    layer_dir: Path  # layers/common/
    pyproject: Path
    build_dir: Path
    artifact_bucket: str | None = None  # else the stage's own, made when first needed
    force: bool = False
    refresh_dependencies: bool = False
    alarm_email: str | None = None
    dashboard: bool = True  # host the dashboard (--no-dashboard: not)
    cdn: bool = True  # CloudFront in front of the bucket (--no-cdn: S3 website hosting)
    dashboard_dir: Path | None = None  # dashboard/ to build
    dashboard_dist: Path | None = None  # an already built dist/ (skips the build)
    direct_upload_limit: int = layer.DIRECT_UPLOAD_LIMIT_BYTES  # larger zips go through S3


def _report(step: str, changed: bool, detail: str) -> None:
    print(f"{step:<14} {'changed' if changed else 'unchanged':<10} {detail}", flush=True)


def _build_layer(options: Options) -> layer.LayerZip:
    built = layer.build_layer(options.layer_dir, options.pyproject, options.build_dir,
                              options.refresh_dependencies)
    print(f"layer zip      {built.zipped_bytes / 2**20:.1f} MiB zipped, "
          f"{built.unzipped_bytes / 2**20:.1f} MiB unzipped, {built.files} files", flush=True)
    if built.left_out:
        print(f"layer leaves   {', '.join(built.left_out)} out "
              f"({layer_contents.WHY_LEFT_OUT})", flush=True)
    return built


def _artifacts_bucket(options: Options, s3: Any, account: str) -> Callable[[], str]:
    """The bucket a too big layer zip goes through: --artifact-bucket, else the stage's own,
    made on first need (as `sam deploy --resolve-s3` does)."""
    def bucket() -> str:
        if options.artifact_bucket:
            return options.artifact_bucket
        made = ensure_artifacts_bucket(s3, options.stage.artifacts_bucket_name(account),
                                       options.stage.region)
        _report("artifacts", made.changed, f"s3://{made.name} (the layer zip goes through S3)")
        return made.name

    return bucket


def deploy(options: Options) -> None:
    """Steps (a) to (e) of infra/README.md, each a no-op when AWS already matches."""
    stage, session = options.stage, boto3.session.Session(region_name=options.stage.region)
    identity = session.client("sts").get_caller_identity()
    account, partition = identity["Account"], identity["Arn"].split(":")[1]

    config = chalice_config.load(options.project_dir)
    resolved = chalice_config.resolve(options.choices, config, stage)
    settings_check.check_names(options.choices.settings)
    if resolved.rds_proxy:
        raise SystemExit("--rds-proxy is made by the CloudFormation template (--package); "
                         "for a direct deploy, create the proxy (infra/README.md) and export "
                         "DATABASE_URL naming its endpoint")

    secret = ensure_secret(session.client("secretsmanager"), stage, os.environ,
                           lambda values: settings_check.check_values({**resolved.settings,
                                                                       **values}))
    _report("secret", secret.changed, f"{stage.secret_name} ({', '.join(sorted(secret.values))})")
    queues = ensure_stage_queues(session.client("sqs"), stage)
    _report("queues", queues.changed, queues.send_url)
    import_queues = ensure_stage_import_queues(session.client("sqs"), stage)
    _report("import queues", import_queues.changed, import_queues.send_url)
    key = ensure_credentials_key(session.client("kms"), stage)
    _report("credentials key", key.changed, f"{key.alias} {key.arn}")

    site = None
    if options.dashboard:
        cloudfront = session.client("cloudfront") if options.cdn else None
        site = dashboard_site.ensure_site(session.client("s3"), cloudfront, stage, account)
        _report("dashboard", site.changed, f"s3://{site.bucket} {site.url}")
        resolved = _with_origin(resolved, site.origin)
    # The dashboard PUTs big lists straight to this bucket: from the origins the API allows.
    uploads = imports_bucket.ensure_imports_bucket(
        session.client("s3"), stage.import_bucket_name(account), stage.region,
        chalice_config.dashboard_origins(resolved))
    _report("imports bucket", uploads.changed,
            f"s3://{uploads.name} (PUT from {', '.join(uploads.origins)})")

    lambda_client = session.client("lambda")
    s3 = session.client("s3")
    layer_arn, published = layer.publish(lambda_client, s3, stage.layer_name,
                                         _build_layer(options),
                                         _artifacts_bucket(options, s3, account),
                                         options.direct_upload_limit)
    _report("layer", published, layer_arn)

    policies = function_policies(concrete_refs(stage, account, partition, secret.arn, key.arn),
                                 resolved.vpc)

    def write_config(public_url: str | None) -> None:
        chalice_config.write(options.project_dir, config, stage,
                             chalice_config.stage_config(stage, resolved, layer_arn, secret.arn,
                                                         key.arn, public_url, uploads.name),
                             policies)

    # PUBLIC_URL (the sender's unsubscribe links): --public-url, else the API's stage URL,
    # which a first deploy learns only once the API exists: then the functions get it in
    # a second pass (later runs know it from Chalice's record and deploy once, or not).
    public_url = resolved.public_url or _known_api_url(options.project_dir, stage)
    write_config(public_url)
    _chalice_deploy(options, lambda_client, secret.version_id)
    if public_url is None:
        public_url = api_url(options.project_dir, stage).rstrip("/")
        write_config(public_url)
        _chalice_deploy(options, lambda_client, secret.version_id)
    _report("public url", False, f"PUBLIC_URL={public_url} (unsubscribe links)")

    sender_arn = lambda_client.get_function(
        FunctionName=stage.function_name(SENDER))["Configuration"]["FunctionArn"]
    mapping = event_source.configure(
        lambda_client, sender_arn, queues.send_arn,
        event_source.wanted(resolved.batching_window_seconds, resolved.sender_concurrency))
    _report("event source", mapping.changed, f"{mapping.uuid} ReportBatchItemFailures")
    imports_arn = lambda_client.get_function(
        FunctionName=stage.function_name(IMPORTS))["Configuration"]["FunctionArn"]
    import_mapping = event_source.configure(lambda_client, imports_arn, import_queues.send_arn,
                                            event_source.wanted_imports(
                                                chalice_config.IMPORTS_CONCURRENCY))
    _report("import source", import_mapping.changed,
            f"{import_mapping.uuid} MaximumConcurrency {chalice_config.IMPORTS_CONCURRENCY}")

    watched = alarms.ensure_alarms(session.client("cloudwatch"), session.client("sns"), stage,
                                   options.alarm_email)
    _report("alarms", watched.changed, f"{len(watched.names)} alarms to {watched.topic_arn}")

    if site is not None:
        dist = options.dashboard_dist or dashboard_site.build(
            options.dashboard_dir or options.project_dir.parent / "dashboard")
        config_js = dashboard_site.config_js(api_url(options.project_dir, stage),
                                             resolved.settings.get("GOOGLE_CLIENT_ID"))
        uploaded, kept = dashboard_site.upload(
            session.client("s3"), session.client("cloudfront") if options.cdn else None,
            site, dist, config_js)
        _report("dashboard files", bool(uploaded), f"{uploaded} uploaded, {kept} unchanged")
        print(f"open           {site.url}", flush=True)


def _with_origin(resolved: chalice_config.Resolved, origin: str) -> chalice_config.Resolved:
    """DASHBOARD_ORIGINS with the hosted dashboard's origin added (kept if already there)."""
    origins = chalice_config.dashboard_origins(resolved)
    if origin in origins:
        return resolved
    settings = {**resolved.settings, "DASHBOARD_ORIGINS": ",".join([*origins, origin])}
    return dataclasses.replace(resolved, settings=settings)


def api_url(project_dir: Path, stage: Stage) -> str:
    """The REST API's URL from Chalice's record of the deploy."""
    record = json.loads((project_dir / ".chalice" / "deployed" / f"{stage.name}.json")
                        .read_text())
    for resource in record.get("resources", []):
        if resource.get("resource_type") == "rest_api":
            return str(resource["rest_api_url"])
    raise SystemExit(f"no REST API in Chalice's record of stage {stage.name}")


def _known_api_url(project_dir: Path, stage: Stage) -> str | None:
    if not (project_dir / ".chalice" / "deployed" / f"{stage.name}.json").exists():
        return None
    try:
        return api_url(project_dir, stage).rstrip("/")
    except SystemExit:
        return None


def _chalice_deploy(options: Options, lambda_client: Any, secret_version: str) -> None:
    stage, project_dir = options.stage, options.project_dir
    digest = chalice_run.fingerprint(project_dir, stage, secret_version)
    if not options.force and chalice_run.already_deployed(lambda_client, project_dir, stage,
                                                          digest):
        _report("chalice", False, f"functions carry fingerprint {digest[:12]}")
        return
    committed = chalice_config.load(project_dir)
    # No secret values: the functions read them through APP_SECRET_ARN at cold start. The
    # secret's version is in the fingerprint, so a changed secret redeploys (new containers
    # read the new values).
    config = chalice_run.with_tags(committed, stage, {chalice_run.FINGERPRINT_TAG: digest})
    policies = {fn: json.loads((project_dir / ".chalice" / stage.policy_file(fn)).read_text())
                for fn in FUNCTIONS}
    with chalice_run.staged(project_dir, stage, config, policies) as staging:
        chalice_run.chalice(staging, stage, "deploy")
        chalice_run.keep_deployed_record(staging, project_dir, stage)
    _report("chalice", True, f"deployed, fingerprint {digest[:12]}")


# Stand-ins that let the package step validate the settings: the real values come from
# the template's parameters when CloudFormation deploys it.
_PLACEHOLDER_SECRETS = {"DATABASE_URL": "postgresql+pg8000://placeholder@localhost/db",
                        "REDIS_URL": "redis://localhost:6379/0", "SESSION_SECRET": "x" * 32}


def package(options: Options, out: Path) -> Path:
    """Write `out/sam.json` (Chalice's template merged with template.py's) and the two
    zips it names; returns the template's path."""
    stage = options.stage
    config = chalice_config.load(options.project_dir)
    resolved = chalice_config.resolve(options.choices, config, stage)
    settings_check.check_names(options.choices.settings)
    settings_check.check_values({**resolved.settings, **_PLACEHOLDER_SECRETS})
    built = _build_layer(options)
    # The merge template replaces this with a reference to its own layer resource.
    placeholder = f"arn:aws:lambda:{stage.region}:000000000000:layer:{stage.layer_name}:1"
    entry = chalice_config.stage_config(stage, resolved, placeholder)
    config = {**config, "stages": {stage.name: entry}}
    refs = cloudformation_refs(stage, SEND_QUEUE, DEAD_LETTER_QUEUE, APP_SECRET, IMPORT_QUEUE,
                               IMPORT_BUCKET, CREDENTIALS_KEY)
    with chalice_run.staged(options.project_dir, stage, config,
                            function_policies(refs, resolved.vpc)) as staging:
        merge = staging / "merge.json"
        merge.write_text(json.dumps(merge_template(stage, resolved), indent=2))
        shutil.rmtree(out, ignore_errors=True)
        chalice_run.chalice(staging, stage, "package", "--merge-template", str(merge), str(out))
    shutil.copy2(built.path, out / LAYER_FILE)
    print(f"template       {out / 'sam.json'}", flush=True)
    return out / "sam.json"
