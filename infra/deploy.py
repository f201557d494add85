"""Deploy emailsched to AWS, or package it for CloudFormation. See infra/README.md.

    DATABASE_URL=... REDIS_URL=... SESSION_SECRET=... \\
        .venv/bin/python infra/deploy.py --stage prod --set GOOGLE_CLIENT_ID=...
    .venv/bin/python infra/deploy.py --stage prod               # again: changes nothing
    .venv/bin/python infra/deploy.py --stage prod --package out/ # CloudFormation instead

Secret values are read from the environment (never from flags, which end up in shell
history) and kept in Secrets Manager, so later runs need not repeat them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from emailsched_infra.chalice_config import StageChoices  # noqa: E402
from emailsched_infra.layer import DIRECT_UPLOAD_LIMIT_BYTES  # noqa: E402
from emailsched_infra.runner import Options, deploy, package  # noqa: E402
from emailsched_infra.stage import Stage  # noqa: E402


def _ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=VALUE")
    return name, value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stage", required=True, help="e.g. prod; names every resource")
    p.add_argument("--region", default=os.environ.get("AWS_REGION")
                   or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    p.add_argument("--package", metavar="OUT_DIR", type=Path,
                   help="write a CloudFormation (SAM) template and its zips; touch no AWS")
    choices = p.add_argument_group("stage choices (kept in functions/.chalice/config.json; "
                                   "a flag not given keeps the stage's current value)")
    choices.add_argument("--memory", type=int, help="MB per function (default 512)")
    choices.add_argument("--sender-concurrency", type=int,
                         help="most sender instances at once (default 5)")
    choices.add_argument("--api-concurrency", type=int,
                         help="most API containers at once (reserved concurrency, default 10)")
    choices.add_argument("--public-url", metavar="URL",
                         help="where unsubscribe links point (PUBLIC_URL), e.g. a custom "
                              "domain of the API; default: the API Gateway stage URL")
    choices.add_argument("--rds-proxy", action=argparse.BooleanOptionalAction, default=None,
                         help="--package: put an RDS Proxy between the functions and Postgres "
                              "(the template takes the database's instance, user, password "
                              "and name; needs a VPC)")
    choices.add_argument("--batching-window", type=int,
                         help="seconds the SQS poller may wait to fill a batch (default 1)")
    choices.add_argument("--subnet-ids", type=_ids, help="comma-separated: run in a VPC")
    choices.add_argument("--security-group-ids", type=_ids, help="comma-separated")
    choices.add_argument("--set", dest="settings", type=_setting, action="append", default=[],
                         metavar="NAME=VALUE", help="a non-secret setting (SPEC.md); repeat")
    choices.add_argument("--unset", action="append", default=[], metavar="NAME")
    paths = p.add_argument_group("paths")
    paths.add_argument("--project-dir", type=Path, default=REPO / "functions")
    paths.add_argument("--layer-dir", type=Path, default=REPO / "layers" / "common")
    paths.add_argument("--build-dir", type=Path, default=HERE / "build")
    p.add_argument("--artifact-bucket",
                   help="S3 bucket for a layer zip over the direct upload (default: the "
                        "stage's own, emailsched-<stage>-artifacts-<account>, made if needed)")
    p.add_argument("--direct-upload-limit", type=int, metavar="BYTES",
                   default=DIRECT_UPLOAD_LIMIT_BYTES,
                   help="largest layer zip uploaded inline; a larger one goes through S3 "
                        "(default: Lambda's 50 MB)")
    ops = p.add_argument_group("operations")
    ops.add_argument("--alarm-email", metavar="ADDRESS",
                     help="subscribe ADDRESS to the alarms' SNS topic (it must confirm)")
    ops.add_argument("--no-dashboard", action="store_true", help="do not host the dashboard")
    ops.add_argument("--no-cdn", action="store_true",
                     help="serve the dashboard from S3 website hosting (HTTP) instead of "
                          "CloudFront (HTTPS)")
    ops.add_argument("--dashboard-dist", type=Path,
                     help="an already built dashboard (dist/); default: npm run build")
    p.add_argument("--force", action="store_true", help="run chalice deploy even if unchanged")
    p.add_argument("--refresh-dependencies", action="store_true",
                   help="reinstall the layer's dependencies instead of reusing the cache")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        stage = Stage(args.stage, args.region)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    choices = StageChoices(
        memory_mb=args.memory, sender_concurrency=args.sender_concurrency,
        batching_window_seconds=args.batching_window, api_concurrency=args.api_concurrency,
        public_url=args.public_url, rds_proxy=args.rds_proxy, subnet_ids=args.subnet_ids,
        security_group_ids=args.security_group_ids, settings=dict(args.settings),
        unset=args.unset)
    options = Options(stage, choices, args.project_dir.resolve(), args.layer_dir.resolve(),
                      REPO / "pyproject.toml", args.build_dir.resolve(), args.artifact_bucket,
                      args.force, args.refresh_dependencies, alarm_email=args.alarm_email,
                      dashboard=not args.no_dashboard, cdn=not args.no_cdn,
                      dashboard_dir=REPO / "dashboard",
                      dashboard_dist=args.dashboard_dist.resolve() if args.dashboard_dist
                      else None, direct_upload_limit=args.direct_upload_limit)
    if args.package:
        package(options, args.package.resolve())
    else:
        deploy(options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
