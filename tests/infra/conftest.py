"""Fixtures for the deployment tests: a moto server, a snapshot of the code to deploy, and
one deploy (run twice) and one package shared by the whole session.

The layer's dependency install is cached under infra/build/ (gitignored), so only the
first session on a machine downloads from PyPI.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.infra.support import (
    ALARM_EMAIL,
    CHOICES,
    REPO,
    SECRETS,
    Deployed,
    account_state,
    moto_server,
    run_deploy,
)

# The tests import infra/emailsched_infra the way infra/deploy.py does.
sys.path.insert(0, str(REPO / "infra"))


@pytest.fixture(scope="session")
def aws_env() -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory,
                  aws_env: dict[str, str]) -> Iterator[str]:
    with moto_server(tmp_path_factory.mktemp("moto")) as url:
        yield url


@pytest.fixture(scope="session")
def aws(moto_endpoint: str, aws_env: dict[str, str]) -> dict[str, str]:
    """The environment of a process that talks to the moto server."""
    return {**aws_env, "AWS_ENDPOINT_URL": moto_endpoint}


@pytest.fixture(scope="session")
def session(aws: dict[str, str]) -> Any:
    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                 region_name="us-east-1")


@pytest.fixture(scope="session")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of functions/ and layers/common taken once, so edits others make to the
    working tree during the session cannot make the second deploy differ from the first."""
    root = tmp_path_factory.mktemp("snapshot")
    (root / "functions").mkdir()
    for name in ("app.py", "requirements.txt"):
        shutil.copy2(REPO / "functions" / name, root / "functions" / name)
    # EMAILSCHED_INFRA_APP: deploy another app.py (e.g. the committed one while a new
    # function's infra is still being written in the working tree).
    if os.environ.get("EMAILSCHED_INFRA_APP"):
        shutil.copy2(os.environ["EMAILSCHED_INFRA_APP"], root / "functions" / "app.py")
    shutil.copytree(REPO / "layers" / "common" / "python" / "emailsched",
                    root / "layer" / "python" / "emailsched",
                    ignore=shutil.ignore_patterns("__pycache__"))
    # A built dashboard stand-in (the real build is `npm run build`, checked elsewhere).
    dist = root / "dashboard-dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text('<!doctype html><script src="/config.js"></script>'
                                     '<script type="module" src="/assets/app-1.js"></script>')
    (dist / "assets" / "app-1.js").write_text("console.log('emailsched');\n")
    return root


@pytest.fixture(scope="session")
def deployed(aws: dict[str, str], session: Any, snapshot: Path) -> Deployed:
    """deploy.py run against moto with secrets and stage choices, then again bare: the
    README's commands, with no bucket for the layer (it fits Lambda's direct upload)."""
    project, layer = snapshot / "functions", snapshot / "layer"
    dist = ["--dashboard-dist", str(snapshot / "dashboard-dist")]
    first = run_deploy([*CHOICES, *dist, "--alarm-email", ALARM_EMAIL], {**aws, **SECRETS},
                       project, layer)
    before = account_state(session, aws)
    second = run_deploy(dist, aws, project, layer)
    return Deployed(first, second, before, account_state(session, aws), project)


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory, aws_env: dict[str, str],
             snapshot: Path) -> Path:
    """deploy.py --package output (sam.json, deployment.zip, common-layer.zip)."""
    root = tmp_path_factory.mktemp("package")
    project = root / "functions"  # its own project: no stage recorded by a deploy
    project.mkdir()
    for name in ("app.py", "requirements.txt"):
        shutil.copy2(snapshot / "functions" / name, project / name)
    run_deploy(["--package", str(root / "out"), *CHOICES], aws_env, project, snapshot / "layer")
    return root / "out"
