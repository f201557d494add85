"""Finds and imports functions/app.py, the module Chalice deploys, so the local runtime
runs exactly the handlers that run on Lambda."""

from __future__ import annotations

import importlib.util
import os
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

MODULE_NAME = "emailsched_functions_app"


def functions_dir() -> Path:
    configured = os.environ.get("EMAILSCHED_FUNCTIONS_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[5] / "functions"


def repo_root() -> Path:
    return functions_dir().parent


@cache
def load_app() -> ModuleType:
    path = functions_dir() / "app.py"
    if not path.exists():
        raise RuntimeError(f"cannot find the Chalice app at {path}; set EMAILSCHED_FUNCTIONS_DIR "
                           "or install emailsched in editable mode (pip install -e .)")
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    spec.loader.exec_module(module)
    return module
