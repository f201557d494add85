"""A layer zip over Lambda's direct upload goes through S3 with no flag: deploy.py makes the
stage's artifacts bucket itself (as `sam deploy --resolve-s3` does), while
`--artifact-bucket` names a bucket of one's own. `--direct-upload-limit` lowers the limit
to force that path with the real layer.

On a moto server of their own: the stages deployed here would otherwise show in the other
tests' account-wide listings (alarms, topics, buckets).
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.infra.support import SECRETS, layer_sizes, moto_server, run_deploy

pytestmark = pytest.mark.integration

LIMIT = ["--direct-upload-limit", str(2**20), "--no-dashboard",  # the layer is ~26 MiB
         "--set", "GOOGLE_CLIENT_ID=client.apps.example"]
ACCOUNT = "123456789012"  # moto's


@pytest.fixture(scope="module")
def own_aws(tmp_path_factory: pytest.TempPathFactory,
            aws_env: dict[str, str]) -> Iterator[dict[str, str]]:
    with moto_server(tmp_path_factory.mktemp("moto-upload")) as url:
        yield {**aws_env, "AWS_ENDPOINT_URL": url}


def _client(aws: dict[str, str], service: str) -> Any:
    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                 region_name="us-east-1").client(
        service, endpoint_url=aws["AWS_ENDPOINT_URL"])


def _project(snapshot: Path, root: Path) -> Path:
    project = root / "functions"
    project.mkdir(parents=True)
    for name in ("app.py", "requirements.txt"):
        shutil.copy2(snapshot / "functions" / name, project / name)
    return project


def _step(output: str, step: str) -> str | None:
    found = re.search(rf"^{step} +(changed|unchanged) +(.*)$", output, re.M)
    return f"{found[1]} {found[2]}" if found else None


def _layer(aws: dict[str, str], stage: str) -> dict[str, Any]:
    lam = _client(aws, "lambda")
    versions = lam.list_layer_versions(LayerName=f"emailsched-{stage}-common")["LayerVersions"]
    assert len(versions) == 1, versions
    found: dict[str, Any] = lam.get_layer_version(
        LayerName=f"emailsched-{stage}-common", VersionNumber=versions[0]["Version"])
    return found


def _objects(aws: dict[str, str], bucket: str) -> dict[str, bytes]:
    s3 = _client(aws, "s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


@pytest.fixture(scope="module")
def over_limit(own_aws: dict[str, str], snapshot: Path,
               tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """Stage `big` deployed twice with a 1 MiB direct upload limit and no bucket named."""
    project = _project(snapshot, tmp_path_factory.mktemp("big"))
    first = run_deploy(LIMIT, {**own_aws, **SECRETS}, project, snapshot / "layer", stage="big")
    second = run_deploy(LIMIT, own_aws, project, snapshot / "layer", stage="big")
    return first, second


def test_a_layer_over_the_limit_goes_through_a_bucket_deploy_makes(
        over_limit: tuple[str, str], own_aws: dict[str, str]) -> None:
    first = over_limit[0]
    bucket = f"emailsched-big-artifacts-{ACCOUNT}"
    print(layer_sizes(first))
    assert _step(first, "artifacts") == f"changed s3://{bucket} (the layer zip goes through S3)"
    assert (_step(first, "layer") or "").startswith("changed arn:aws:lambda:")
    (key, body), = _objects(own_aws, bucket).items()
    assert key == f"layers/emailsched-big-common/{hashlib.sha256(body).hexdigest()}.zip"
    # The published version is that object.
    sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert _layer(own_aws, "big")["Content"]["CodeSha256"] == sha
    s3 = _client(own_aws, "s3")
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [rule["Expiration"] for rule in rules] == [{"Days": 7}]
    function = _client(own_aws, "lambda").get_function(FunctionName="emailsched-big-sender")
    assert [layer["Arn"] for layer in function["Configuration"]["Layers"]] == [
        _layer(own_aws, "big")["LayerVersionArn"]]


def test_the_same_layer_again_neither_uploads_nor_publishes(
        over_limit: tuple[str, str], own_aws: dict[str, str]) -> None:
    second = over_limit[1]
    assert (_step(second, "layer") or "").startswith("unchanged arn:aws:lambda:")
    assert _step(second, "artifacts") is None, second  # the bucket is not even looked at
    assert len(_objects(own_aws, f"emailsched-big-artifacts-{ACCOUNT}")) == 1


def test_artifact_bucket_names_a_bucket_of_ones_own(
        own_aws: dict[str, str], snapshot: Path, tmp_path: Path) -> None:
    _client(own_aws, "s3").create_bucket(Bucket="my-artifacts")
    output = run_deploy([*LIMIT, "--artifact-bucket", "my-artifacts"], {**own_aws, **SECRETS},
                        _project(snapshot, tmp_path), snapshot / "layer", stage="own")
    assert _step(output, "artifacts") is None
    (key, body), = _objects(own_aws, "my-artifacts").items()
    assert key.startswith("layers/emailsched-own-common/")
    sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert _layer(own_aws, "own")["Content"]["CodeSha256"] == sha
    buckets = [b["Name"] for b in _client(own_aws, "s3").list_buckets()["Buckets"]]
    assert f"emailsched-own-artifacts-{ACCOUNT}" not in buckets
