"""The common layer: what is in it, that it imports with nothing else on the path but what
Lambda's runtime has, and that it fits Lambda's limits and our 30 MiB budget."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.infra.support import REPO, lambda_runtime_sdk

pytestmark = pytest.mark.integration

UNZIPPED_LIMIT = 250 * 1024 * 1024  # function package and layers together
# Well under Lambda's 50 MB direct upload, so a deploy needs no S3 bucket: a layer that
# grows past this is a change to look at (what new dependency, what could stay out).
ZIPPED_BUDGET = 30 * 2**20

# What Lambda never imports and the layer leaves out (emailsched_infra.layer).
NOT_SHIPPED = ("python/emailsched/local/", "python/emailsched/bench/",
               "python/emailsched/fakes.py", "python/emailsched/cli.py",
               "python/emailsched/migrations/")

# Run with -I -S: no site-packages, no PYTHONPATH, no user site; only the standard library
# and the folders Lambda would have, in Lambda's order (/var/task, /opt/python, then the
# runtime's own packages: boto3 and its dependencies).
FRESH_IMPORT = r"""
import ast, importlib, importlib.util, json, pathlib, pkgutil, sys, sysconfig
task, opt, runtime = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path[:0] = [task, opt, runtime]

def imported(path):
    # Every absolute import in the module, at any depth (lazy ones in functions too), but
    # those only a type checker reads.
    found, todo = set(), [ast.parse(path.read_text())]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        todo.extend(ast.iter_child_nodes(node))
    return found

# What each shipped module may import at run time and Lambda could not find.
sources = {"app.py": pathlib.Path(task, "app.py")}
sources.update((p.relative_to(opt).as_posix(), p) for p in pathlib.Path(opt).rglob("*.py")
               if p.relative_to(opt).parts[0] == "emailsched")
unresolved = {}
for shown, path in sources.items():
    for name in imported(path):
        top = name.split(".")[0]
        if importlib.util.find_spec(top) is None:
            unresolved.setdefault(top, set()).add(shown)
import app
handlers = sorted(f.func.__name__ for f in (app.send_emails, app.pump, app.replies))
cold = {n: m.__file__ for n, m in list(sys.modules.items())
        if n.startswith("emailsched") and getattr(m, "__file__", None)}
import emailsched
names = [m.name for m in pkgutil.walk_packages(emailsched.__path__, "emailsched.")]
for name in names:
    importlib.import_module(name)
roots = (task, opt, runtime, sysconfig.get_paths()["stdlib"],
         sysconfig.get_paths()["platstdlib"])
outside = sorted(n for n, m in list(sys.modules.items())
                 if getattr(m, "__file__", None) and not m.__file__.startswith(roots))
print(json.dumps({"app": app.app.app_name, "handlers": handlers, "modules": len(names),
                  "outside": outside, "cold": cold,
                  "unresolved": {k: sorted(v) for k, v in unresolved.items()},
                  "sdk": {n: sys.modules[n].__file__ for n in ("boto3", "botocore")}}))
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
            "aws_lambda_powertools", "requests", "lxml", "cryptography"} <= tops
    assert "chalice" not in tops  # Chalice ships its runtime in each function's package
    # Our own modules keep their source (tracebacks quote our lines) and compiled form.
    assert {"python/emailsched/bootstrap.py",
            "python/emailsched/__pycache__/bootstrap.cpython-311.pyc"} <= set(names)
    assert names == sorted(names) and times == {(1980, 1, 1, 0, 0, 0)}


def test_layer_leaves_out_the_sdk_lambda_has_and_alembic_but_not_what_others_need(
        packaged: Path) -> None:
    with zipfile.ZipFile(packaged / "common-layer.zip") as z:
        tops = {name.split("/")[1] for name in z.namelist()}
    assert not {"boto3", "botocore", "s3transfer", "alembic", "mako"} & tops
    # Also the SDK's dependencies, but needed by what stays: Powertools needs jmespath,
    # pg8000 python-dateutil (which needs six), requests urllib3.
    assert {"jmespath", "dateutil", "six.pyc", "urllib3", "markupsafe"} <= tops


def test_every_dependency_of_the_layer_is_in_it_or_in_lambdas_runtime(packaged: Path,
                                                                      tmp_path: Path) -> None:
    """Read from the shipped distributions' own metadata: nothing they require on Lambda
    was left out, but what the runtime brings (boto3 and its dependencies)."""
    from emailsched_infra import layer_contents

    opt = _unzip(packaged / "common-layer.zip", tmp_path / "opt") / "python"
    shipped = layer_contents.distributions(opt)
    runtime = layer_contents.distributions(lambda_runtime_sdk(tmp_path / "runtime"))
    assert set(runtime) == {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil",
                            "six", "urllib3"}
    missing = sorted(f"{name} needs {spec}" for name, dist in shipped.items()
                     for spec in dist.requires or []
                     if layer_contents.applies(Requirement(spec))
                     and canonicalize_name(Requirement(spec).name) not in {*shipped, *runtime})
    assert missing == []
    assert len(shipped) > 30


def test_layer_ships_each_dependency_module_once_compiled(packaged: Path) -> None:
    """Dependencies as sourceless .pyc where the source would be (layer_contents.one_form
    says why), without test suites, C headers, Cython sources or stubs."""
    with zipfile.ZipFile(packaged / "common-layer.zip") as z:
        names = z.namelist()
    deps = [n for n in names if not n.startswith("python/emailsched/")]
    assert "python/sqlalchemy/engine/base.pyc" in deps
    assert "python/sqlalchemy/engine/base.py" not in deps
    assert [n for n in deps if n.endswith(".py") or "/__pycache__/" in n] == []
    assert [n for n in deps if "/tests/" in n or n.startswith(("python/sqlalchemy/testing/",
                                                               "python/lxml/includes/"))
            or n.endswith((".pyi", ".pyx", ".pxd", ".pxi"))] == []


def test_layer_imports_cleanly_in_a_fresh_interpreter(packaged: Path, tmp_path: Path) -> None:
    task = _unzip(packaged / "deployment.zip", tmp_path / "task")
    opt = _unzip(packaged / "common-layer.zip", tmp_path / "opt") / "python"
    runtime = lambda_runtime_sdk(tmp_path / "runtime")
    done = subprocess.run([sys.executable, "-I", "-S", "-c", FRESH_IMPORT, str(task), str(opt),
                           str(runtime)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
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
    # The SDK is the runtime's.
    assert all(path.startswith(str(runtime)) for path in result["sdk"].values()), result
    # Any import anywhere in a shipped module, lazy ones too, finds its module on Lambda's
    # path, but Alembic's, inside engine.migrate, which only `emailsched setup` calls.
    assert result["unresolved"] == {"alembic": ["emailsched/adapters/db/engine.py"]}


def test_no_shipped_module_migrates(packaged: Path) -> None:
    """engine.migrate needs Alembic, which the layer leaves out: no shipped module calls it
    (the CLI's `emailsched setup` does, from the deploy machine's install)."""
    with zipfile.ZipFile(packaged / "common-layer.zip") as z:
        sources = {n: z.read(n).decode() for n in z.namelist()
                   if n.startswith("python/emailsched/") and n.endswith(".py")}
    callers = sorted(name for name, text in sources.items()
                     if any(isinstance(node, ast.Name | ast.Attribute)
                            and getattr(node, "id", getattr(node, "attr", None)) == "migrate"
                            for node in ast.walk(ast.parse(text))))
    assert callers == []
    assert not any(n.startswith("python/emailsched/migrations/") for n in sources)


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


def test_layer_fits_lambda_limits_and_our_budget(packaged: Path,
                                                 record_property: Any) -> None:
    sizes = {}
    for name in ("common-layer.zip", "deployment.zip"):
        with zipfile.ZipFile(packaged / name) as z:
            sizes[name] = ((packaged / name).stat().st_size,
                           sum(info.file_size for info in z.infolist()))
    report = "; ".join(f"{name}: {zipped / 2**20:.1f} MiB zipped, "
                       f"{unzipped / 2**20:.1f} MiB unzipped"
                       for name, (zipped, unzipped) in sizes.items())
    print(report)  # shown with -s, and in CI's log
    record_property("sizes", report)  # in the JUnit report
    assert sum(unzipped for _, unzipped in sizes.values()) < UNZIPPED_LIMIT, report
    assert sizes["common-layer.zip"][0] <= ZIPPED_BUDGET, report


def test_layer_requirements_are_pyprojects_less_chalice() -> None:
    import tomllib

    from emailsched_infra.layer import runtime_requirements

    pyproject = REPO / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    assert runtime_requirements(pyproject) == [d for d in declared
                                               if not d.startswith("chalice")]
