"""Runs `chalice deploy` and `chalice package` on a staged copy of functions/.

No secret value is in either config.json: the functions read them through APP_SECRET_ARN
at cold start, so functions/.chalice/config.json can be committed. Chalice's record of what
it deployed (.chalice/deployed/<stage>.json) is copied back; commit it too, since Chalice
needs it to update rather than duplicate the REST API.

A deploy is skipped when every function already carries the fingerprint of this exact
input (app code, stage config, policies, layer, secret version) in its tags.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chalice import __version__ as CHALICE_VERSION

from emailsched_infra.stage import FUNCTIONS, REPLIES, Stage

FINGERPRINT_TAG = "emailsched:fingerprint"
PROJECT_FILES = ("app.py", "requirements.txt")


def fingerprint(project_dir: Path, stage: Stage, secret_version: str) -> str:
    """A digest of everything `chalice deploy` would send, secrets by version only."""
    digest = hashlib.sha256(f"chalice {CHALICE_VERSION}\nsecret {secret_version}\n".encode())
    config = json.loads((project_dir / ".chalice" / "config.json").read_text())
    digest.update(json.dumps([config["app_name"], config["stages"][stage.name]],
                             sort_keys=True).encode())
    names = [*PROJECT_FILES, *(f".chalice/{stage.policy_file(fn)}" for fn in FUNCTIONS)]
    for name in names:
        path = project_dir / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b""))
    return digest.hexdigest()


def already_deployed(lambda_client: Any, project_dir: Path, stage: Stage, digest: str) -> bool:
    if not (project_dir / ".chalice" / "deployed" / f"{stage.name}.json").exists():
        return False
    for function in FUNCTIONS:
        try:
            tags = lambda_client.get_function(FunctionName=stage.function_name(function))["Tags"]
        except lambda_client.exceptions.ResourceNotFoundException:
            return False
        if tags.get(FINGERPRINT_TAG) != digest:
            return False
    return True


def with_tags(config: dict[str, Any], stage: Stage, tags: Mapping[str, str]) -> dict[str, Any]:
    """A copy of `config` whose stage carries `tags` (the deploy's fingerprint)."""
    config = copy.deepcopy(config)
    entry = config["stages"][stage.name]
    entry["tags"] = {**entry.get("tags", {}), **tags}
    return config


@contextmanager
def staged(project_dir: Path, stage: Stage, config: dict[str, Any],
           policies: Mapping[str, Any]) -> Iterator[Path]:
    """A temporary Chalice project: functions/' code and Chalice's deployed record, with
    `config` and `policies` in its .chalice folder."""
    with tempfile.TemporaryDirectory(prefix="emailsched-chalice-") as folder:
        staging = Path(folder)
        for name in PROJECT_FILES:
            if (project_dir / name).exists():
                shutil.copy2(project_dir / name, staging / name)
        (staging / ".chalice").mkdir()
        deployed = project_dir / ".chalice" / "deployed"
        if deployed.exists():
            shutil.copytree(deployed, staging / ".chalice" / "deployed")
        config_path = staging / ".chalice" / "config.json"
        config_path.touch(mode=0o600)  # it may hold secret values
        config_path.write_text(json.dumps(config, indent=2))
        for function, document in policies.items():
            (staging / ".chalice" / stage.policy_file(function)).write_text(json.dumps(document))
        yield staging


def chalice(staging: Path, stage: Stage, *args: str) -> None:
    """Run the chalice CLI on the staged project, with what app.py reads at import: the
    queue names, and the reply poller's interval (its schedule's rate)."""
    env = {**os.environ, "SEND_QUEUE_NAME": stage.queue_name,
           "IMPORT_QUEUE_NAME": stage.import_queue_name,
           "AWS_DEFAULT_REGION": stage.region, "AWS_REGION": stage.region}
    entry = json.loads((staging / ".chalice" / "config.json").read_text())["stages"][stage.name]
    replies = entry.get("lambda_functions", {}).get(REPLIES, {}).get("environment_variables", {})
    if "REPLY_POLL_SECONDS" in replies:
        env["REPLY_POLL_SECONDS"] = replies["REPLY_POLL_SECONDS"]
    # The chalice beside this interpreter (whose import of app.py sees emailsched), else PATH's.
    beside = Path(sys.executable).with_name("chalice")
    executable = str(beside) if beside.exists() else shutil.which("chalice") or "chalice"
    command = [executable, "--project-dir", str(staging), *args, "--stage", stage.name]
    subprocess.run(command, check=True, env=env)


def keep_deployed_record(staging: Path, project_dir: Path, stage: Stage) -> None:
    record = staging / ".chalice" / "deployed" / f"{stage.name}.json"
    target = project_dir / ".chalice" / "deployed" / record.name
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_bytes() != record.read_bytes():
        shutil.copy2(record, target)
