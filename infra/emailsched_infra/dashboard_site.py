"""The dashboard, hosted: an S3 bucket of the stage behind CloudFront (HTTPS, the bucket
private behind an origin access control), or with `--no-cdn` the bucket's own website
endpoint (HTTP only). deploy.py builds it (`npm run build` in dashboard/), uploads the
files that changed (ETag = MD5 of a single-part upload), and writes `config.js` with the
API's URL and the Google client id (what dashboard/src/config.ts reads).
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emailsched_infra.stage import APP_NAME, Stage

CONFIG_FILE = "config.js"


def bucket_name(stage: Stage, account: str) -> str:
    return f"{APP_NAME}-{stage.name}-dashboard-{account}"


def comment(stage: Stage) -> str:
    return f"{APP_NAME}-{stage.name}-dashboard"


@dataclass(frozen=True)
class Site:
    bucket: str
    url: str  # what to open; its scheme and host are the dashboard's origin
    distribution_id: str | None
    changed: bool

    @property
    def origin(self) -> str:
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{rest.split('/')[0]}"


def build(dashboard_dir: Path) -> Path:
    """`npm ci` if needed, then `npm run build`; returns dist/."""
    if not (dashboard_dir / "node_modules").exists():
        subprocess.run(["npm", "ci"], cwd=dashboard_dir, check=True)
    subprocess.run(["npm", "run", "build"], cwd=dashboard_dir, check=True)
    return dashboard_dir / "dist"


def _ensure_bucket(s3: Any, name: str, region: str) -> bool:
    try:
        s3.head_bucket(Bucket=name)
        return False
    except s3.exceptions.ClientError:
        pass
    options: dict[str, Any] = {}
    if region != "us-east-1":
        options["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(Bucket=name, **options)
    return True


def _put_policy(s3: Any, bucket: str, policy: dict[str, Any]) -> bool:
    text = json.dumps(policy, sort_keys=True)
    try:
        current = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except s3.exceptions.ClientError:
        current = None
    if current == policy:
        return False
    s3.put_bucket_policy(Bucket=bucket, Policy=text)
    return True


def _distribution(cloudfront: Any, stage: Stage, bucket: str,
                  region: str) -> tuple[str, str, str, bool]:
    """(id, domain, arn, changed) of the stage's distribution, made if missing."""
    listing = cloudfront.list_distributions().get("DistributionList", {})
    for item in listing.get("Items", []) or []:
        if item.get("Comment") == comment(stage):
            return item["Id"], item["DomainName"], item["ARN"], False
    control = cloudfront.create_origin_access_control(OriginAccessControlConfig={
        "Name": f"{bucket}-oac"[:64], "SigningProtocol": "sigv4", "SigningBehavior": "always",
        "OriginAccessControlOriginType": "s3"})["OriginAccessControl"]["Id"]
    origin = f"{bucket}.s3.{region}.amazonaws.com"
    created = cloudfront.create_distribution(DistributionConfig={
        "CallerReference": comment(stage), "Comment": comment(stage), "Enabled": True,
        "DefaultRootObject": "index.html",
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "dashboard", "DomainName": origin, "OriginAccessControlId": control,
            "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "dashboard", "ViewerProtocolPolicy": "redirect-to-https",
            "Compress": True,
            # AWS's managed CachingOptimized policy.
            "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
        # The app routes in the browser: unknown paths get index.html.
        "CustomErrorResponses": {"Quantity": 1, "Items": [{
            "ErrorCode": 403, "ResponsePagePath": "/index.html", "ResponseCode": "200",
            "ErrorCachingMinTTL": 10}]},
        "ViewerCertificate": {"CloudFrontDefaultCertificate": True},
        "PriceClass": "PriceClass_100"})["Distribution"]
    return created["Id"], created["DomainName"], created["ARN"], True


def ensure_site(s3: Any, cloudfront: Any | None, stage: Stage, account: str) -> Site:
    """The bucket and what serves it; no files yet (the API's URL is not known yet)."""
    bucket = bucket_name(stage, account)
    changed = _ensure_bucket(s3, bucket, stage.region)
    if cloudfront is None:
        website = {"IndexDocument": {"Suffix": "index.html"},
                   "ErrorDocument": {"Key": "index.html"}}
        try:
            current = s3.get_bucket_website(Bucket=bucket)
            same = (current.get("IndexDocument") == website["IndexDocument"]
                    and current.get("ErrorDocument") == website["ErrorDocument"])
        except s3.exceptions.ClientError:
            same = False
        if not same:
            s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=website)
            changed = True
        try:
            block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
            blocked = any(block.values())
        except s3.exceptions.ClientError:
            blocked = False
        if blocked:
            s3.delete_public_access_block(Bucket=bucket)
            changed = True
        changed |= _put_policy(s3, bucket, {"Version": "2012-10-17", "Statement": [{
            "Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
            "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})
        url = f"http://{bucket}.s3-website-{stage.region}.amazonaws.com"
        return Site(bucket, url, None, changed)
    distribution, domain, arn, made = _distribution(cloudfront, stage, bucket, stage.region)
    changed |= made
    changed |= _put_policy(s3, bucket, {"Version": "2012-10-17", "Statement": [{
        "Sid": "CloudFrontReads", "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": arn}}}]})
    return Site(bucket, f"https://{domain}", distribution, changed)


def config_js(api_url: str, google_client_id: str | None) -> bytes:
    config: dict[str, str] = {"apiBaseUrl": api_url.rstrip("/")}
    if google_client_id:
        config["googleClientId"] = google_client_id
    return f"window.__EMAILSCHED_CONFIG__ = {json.dumps(config, sort_keys=True)};\n".encode()


def _cache_control(key: str) -> str:
    # Vite's assets carry a content hash in their names; the rest must be looked at again.
    return "public, max-age=31536000, immutable" if key.startswith("assets/") else "no-cache"


def upload(s3: Any, cloudfront: Any | None, site: Site, dist: Path,
           config: bytes) -> tuple[int, int]:
    """Uploads what differs; returns (uploaded, unchanged). Invalidates CloudFront's cache
    for the changed paths."""
    if not (dist / "index.html").exists():
        raise SystemExit(f"{dist}: no index.html (build the dashboard first)")
    files = {p.relative_to(dist).as_posix(): p.read_bytes()
             for p in sorted(dist.rglob("*")) if p.is_file() and p.name != CONFIG_FILE}
    files[CONFIG_FILE] = config
    uploaded: list[str] = []
    for key, data in files.items():
        digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
        try:
            etag = s3.head_object(Bucket=site.bucket, Key=key)["ETag"].strip('"')
        except s3.exceptions.ClientError:
            etag = None
        if etag == digest:
            continue
        kind = mimetypes.guess_type(key)[0] or "application/octet-stream"
        s3.put_object(Bucket=site.bucket, Key=key, Body=data, ContentType=kind,
                      CacheControl=_cache_control(key))
        uploaded.append(key)
    if uploaded and cloudfront is not None and site.distribution_id:
        paths = [f"/{key}" for key in uploaded if not key.startswith("assets/")] or ["/*"]
        cloudfront.create_invalidation(DistributionId=site.distribution_id, InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": paths},
            "CallerReference": hashlib.sha256("".join(sorted(uploaded)).encode()).hexdigest()})
    return len(uploaded), len(files) - len(uploaded)
