"""The committed `local` stage of functions/.chalice/config.json (for `chalice local`) and
deploy.py: a deployed stage is written beside it, and `local` cannot be deployed over it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from emailsched_infra import chalice_config
from emailsched_infra.chalice_config import StageChoices, resolve, stage_config
from emailsched_infra.stage import Stage

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]


def test_deploy_writes_its_stage_beside_the_committed_local_one(tmp_path: Path) -> None:
    (tmp_path / ".chalice").mkdir()
    shutil.copy2(REPO / "functions" / ".chalice" / "config.json", tmp_path / ".chalice")
    committed = json.loads((tmp_path / ".chalice" / "config.json").read_text())
    stage = Stage("prod", "eu-west-1")
    config = chalice_config.load(tmp_path)
    entry = stage_config(stage, resolve(StageChoices(), config, stage), "arn:layer:1")
    chalice_config.write(tmp_path, config, stage, entry, {"api_handler": {}})
    written = json.loads((tmp_path / ".chalice" / "config.json").read_text())
    assert written["stages"]["local"] == committed["stages"]["local"]
    assert written["stages"]["prod"]["layers"] == ["arn:layer:1"]
    assert written["app_name"] == committed["app_name"] == "emailsched"


def test_the_local_stage_cannot_be_deployed() -> None:
    with pytest.raises(ValueError, match="chalice local"):
        Stage("local", "us-east-1")
