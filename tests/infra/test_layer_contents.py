"""layer_contents on a small made-up install: which distributions the layer keeps (by their
declared requirements, markers and extras), which files go, and the one form of a module."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.unit


def _dist(deps: Path, name: str, files: list[str], requires: tuple[str, ...] = ()) -> None:
    info = deps / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: " + name + "\nVersion: 1.0\n"
                                   + "".join(f"Requires-Dist: {r}\n" for r in requires))
    for file in files:
        (deps / file).parent.mkdir(parents=True, exist_ok=True)
        (deps / file).write_text("")
    (info / "RECORD").write_text("".join(f"{f},,\n" for f in [*files, f"{info.name}/METADATA"]))


@pytest.fixture
def deps(tmp_path: Path) -> Path:
    deps = tmp_path / "deps"
    _dist(deps, "boto3", ["boto3/__init__.py"], ("botocore", "jmespath"))
    _dist(deps, "botocore", ["botocore/__init__.py"], ("jmespath", "urllib3"))
    _dist(deps, "jmespath", ["jmespath/__init__.py"])
    _dist(deps, "urllib3", ["urllib3/__init__.py"])
    _dist(deps, "alembic", ["alembic/__init__.py", "shared/x.py"], ("mako", "sqlalchemy"))
    _dist(deps, "mako", ["mako/__init__.py"])
    _dist(deps, "sqlalchemy", ["sqlalchemy/__init__.py", "sqlalchemy/testing/plugin.py"],
          ('tomli; python_version < "3.11"', 'greenlet; extra == "asyncio"'))
    _dist(deps, "tomli", ["tomli/__init__.py"])
    _dist(deps, "greenlet", ["greenlet/__init__.py"])
    _dist(deps, "powertools", ["powertools/__init__.py", "shared/x.py"],
          ("jmespath", 'sqlalchemy[asyncio]; extra == "db"', "not-installed"))
    _dist(deps, "requests", ["requests/__init__.py"], ("urllib3",))
    return deps


REQUIREMENTS = ["boto3>=1", "alembic", "sqlalchemy", "powertools", "requests"]


def test_keeps_what_a_kept_package_needs_and_drops_what_only_the_left_out_need(
        deps: Path) -> None:
    from emailsched_infra import layer_contents

    installed = layer_contents.distributions(deps)
    kept = layer_contents.closure(REQUIREMENTS, installed,
                                  layer_contents.RUNTIME_PROVIDED | layer_contents.NOT_AT_RUN_TIME)
    # jmespath (powertools) and urllib3 (requests) stay though boto3's; tomli applies
    # before 3.11 only; greenlet only with an extra nobody asked for; mako only for alembic.
    assert kept == {"sqlalchemy", "powertools", "jmespath", "requests", "urllib3"}
    dropped, left_out = layer_contents.dropped_files(REQUIREMENTS, deps)
    assert left_out == ["alembic", "boto3", "botocore", "greenlet", "mako", "tomli"]
    assert "botocore/__init__.py" in dropped and "mako/__init__.py" in dropped
    assert "shared/x.py" not in dropped  # powertools lists it too
    assert "jmespath/__init__.py" not in dropped


def test_an_extra_asked_for_brings_its_requirements(deps: Path) -> None:
    from emailsched_infra import layer_contents

    installed = layer_contents.distributions(deps)
    assert "greenlet" in layer_contents.closure(["powertools[db]"], installed)


def test_one_form_ships_compiled_modules_where_their_source_was() -> None:
    from emailsched_infra.layer_contents import CACHE_TAG, one_form

    entries = {name: Path(name) for name in [
        "six.py", f"__pycache__/six.{CACHE_TAG}.pyc",
        "pkg/__init__.py", f"pkg/__pycache__/__init__.{CACHE_TAG}.pyc",
        "pkg/only_source.py", "pkg/data.json", "pkg/fast.cpython-311-x86_64-linux-gnu.so",
        f"pkg/__pycache__/gone.{CACHE_TAG}.pyc"]}
    assert sorted(one_form(entries)) == ["pkg/__init__.pyc", "pkg/data.json",
                                         "pkg/fast.cpython-311-x86_64-linux-gnu.so",
                                         "pkg/only_source.py", "six.pyc"]
    assert one_form(entries)["six.pyc"] == Path(f"__pycache__/six.{CACHE_TAG}.pyc")


def test_strips_tests_headers_cython_sources_and_stubs_only() -> None:
    from emailsched_infra.layer_contents import stripped

    assert all(stripped(name) for name in [
        "certifi/tests/test_certify.py", "sqlalchemy/testing/plugin/pytestplugin.py",
        "lxml/includes/etree.h", "lxml/etree.pyx", "lxml/etree.pxd", "lxml/parser.pxi",
        "pydantic_core/core_schema.pyi", "foo-stubs/__init__.pyi"])
    assert not any(stripped(name) for name in [
        "sqlalchemy/engine/base.py", "aws_lambda_powertools/utilities/auth_alpha/jwt/testing.py",
        "cffi/parse_c_type.h", "pydantic/py.typed", "tests.py"])
