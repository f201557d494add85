"""The common layer: what is in it, that it imports with nothing else on the path, and that
it fits Lambda's limits."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.infra.support import REPO

pytestmark = pytest.mark.integration

UNZIPPED_LIMIT = 250 * 1024 * 1024  # function package and layers together

# What Lambda never imports and the layer leaves out (emailsched_infra.layer).
NOT_SHIPPED = ("python/emailsched/local/", "python/emailsched/bench/",
               "python/emailsched/fakes.py", "python/emailsched/cli.py")

# Run with -I -S: no site-packages, no PYTHONPATH, no user site; only the standard library
# and the two folders Lambda would have, in Lambda's order (/var/task, then /opt/python).
FRESH_IMPORT = r"""
import importlib, json, pkgutil, sys, sysconfig
task, opt = sys.argv[1], sys.argv[2]
sys.path[:0] = [task, opt]
import app
handlers = sorted(f.func.__name__ for f in (app.send_emails, app.pump, app.replies))
cold = {n: m.__file__ for n, m in list(sys.modules.items())
        if n.startswith("emailsched") and getattr(m, "__file__", None)}
import emailsched
# The migrations run from `emailsched setup`, through Alembic's env.py, never on import.
skip = ("emailsched.migrations",)
names = [m.name for m in pkgutil.walk_packages(emailsched.__path__, "emailsched.")
         if not m.name.startswith(skip)]
for name in names:
    importlib.import_module(name)
roots = (task, opt, sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
outside = sorted(n for n, m in list(sys.modules.items())
                 if getattr(m, "__file__", None) and not m.__file__.startswith(roots))
print(json.dumps({"app": app.app.app_name, "handlers": handlers, "modules": len(names),
                  "outside": outside, "cold": cold}))
"""


def _unzip(archive: Path, target: Path) -> Path:
    with zipfile.ZipFile(archive) as z:
        z.extractall(target)
    return target


def test_layer_holds_the_package_and_dependencies_in_the_python_folder(packaged: Path) -> None:
    with zipfile.ZipFile(packaged / "common-layer.zip") as z:
        names = z.namelist()
        times = {info.date_time for info in z.infolist()}
    assert all(name.startswith("python/") for name in names)
    tops = {name.split("/")[1] for name in names}
    assert {"emailsched", "sqlalchemy", "pydantic", "pydantic_core", "redis", "pg8000",
            "aws_lambda_powertools", "boto3", "botocore"} <= tops
    assert "chalice" not in tops  # Chalice ships its runtime in each function's package
    assert "python/emailsched/migrations/script.py.mako" in names
    assert "python/emailsched/__pycache__/bootstrap.cpython-311.pyc" in names
    assert names == sorted(names) and times == {(1980, 1, 1, 0, 0, 0)}


def test_layer_imports_cleanly_in_a_fresh_interpreter(packaged: Path, tmp_path: Path) -> None:
    task = _unzip(packaged / "deployment.zip", tmp_path / "task")
    opt = _unzip(packaged / "common-layer.zip", tmp_path / "opt") / "python"
    done = subprocess.run([sys.executable, "-I", "-S", "-c", FRESH_IMPORT, str(task), str(opt)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["app"] == "emailsched"
    assert result["handlers"] == ["pump", "replies", "send_emails"]
    assert result["modules"] > 30
    assert result["outside"] == []
    # Every emailsched module the app imports at cold start came from the layer (the
    # services are imported on first use: tests/unit/test_cold_start_imports.py).
    cold = result["cold"]
    assert {"emailsched.bootstrap", "emailsched.api.views"} <= set(cold)
    assert all(path.startswith(str(opt)) for path in cold.values()), cold


def test_layer_leaves_out_what_lambda_never_imports(packaged: Path) -> None:
    """The dev stack, benchmarks, fakes and CLI stay in the installed package, not the zip."""
    with zipfile.ZipFile(packaged / "common-layer.zip") as z:
        names = z.namelist()
    shipped = sorted(name for name in names if name.startswith(NOT_SHIPPED)
                     or name.startswith(("python/emailsched/__pycache__/fakes.",
                                         "python/emailsched/__pycache__/cli.")))
    assert shipped == []
    assert "python/emailsched/bootstrap.py" in names
    assert "python/emailsched/services/sender.py" in names
    # ...and they are still there for development.
    package = REPO / "layers" / "common" / "python" / "emailsched"
    assert (package / "local" / "dev.py").exists() and (package / "fakes.py").exists()


def test_layer_fits_lambda_limits(packaged: Path) -> None:
    sizes = {}
    for name in ("common-layer.zip", "deployment.zip"):
        with zipfile.ZipFile(packaged / name) as z:
            sizes[name] = ((packaged / name).stat().st_size,
                           sum(info.file_size for info in z.infolist()))
    for name, (zipped, unzipped) in sizes.items():
        print(f"{name}: {zipped / 2**20:.1f} MiB zipped, {unzipped / 2**20:.1f} MiB unzipped")
    assert sum(unzipped for _, unzipped in sizes.values()) < UNZIPPED_LIMIT


def test_layer_requirements_are_pyprojects_less_chalice() -> None:
    import tomllib

    from emailsched_infra.layer import runtime_requirements

    pyproject = REPO / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    assert runtime_requirements(pyproject) == [d for d in declared
                                               if not d.startswith("chalice")]
