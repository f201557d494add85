"""Which of the installed dependencies' files go into the layer, and in which form.

pip installs all of pyproject's runtime dependencies (boto3 and Alembic too, so the versions
it picks for what they share with the rest, urllib3 and python-dateutil, satisfy them as
well). The layer then keeps the distributions reachable, by their declared requirements,
from the dependencies a function needs: not the SDK Lambda's runtime already has, not
Alembic. What only those two needed (botocore, s3transfer, Mako) goes with them; what a kept
package needs as well (jmespath for Powertools, python-dateutil for pg8000, urllib3 for
requests) stays, resolved from each distribution's metadata rather than a list by hand.

From what stays it leaves out test suites, C headers, Cython sources and type stubs, and
ships each module once: compiled, where a compiled form was made (see `one_form`).
"""

from __future__ import annotations

import importlib.metadata
import platform
from collections.abc import Iterable
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from emailsched_infra.stage import PYTHON_VERSION

# In Lambda's Python runtime already (with botocore, s3transfer, jmespath, python-dateutil,
# six and urllib3): the functions import the runtime's copy. The SDK alone is 17 MiB zipped.
RUNTIME_PROVIDED = frozenset({"boto3"})
# No function imports it: `emailsched setup` migrates from a host that reaches the database
# (infra/README.md, "Database migrations"), with the deploy machine's installed package.
NOT_AT_RUN_TIME = frozenset({"alembic"})
# Folders and files no import reads: test suites (SQLAlchemy's is its pytest plugin, loaded
# only by its own test runner), lxml's C headers (for compiling against lxml), type stubs,
# and Cython sources of modules that ship compiled.
WHY_LEFT_OUT = (f"{', '.join(sorted(RUNTIME_PROVIDED))}: in Lambda's runtime; "
                f"{', '.join(sorted(NOT_AT_RUN_TIME))}: no function imports it; "
                "the others only these need")
STRIPPED_FOLDER_NAMES = frozenset({"tests", "docs"})
STRIPPED_FOLDERS = ("sqlalchemy/testing/", "lxml/includes/")
STRIPPED_SUFFIXES = (".pyi", ".pyx", ".pxd", ".pxi")
CACHE_TAG = f"cpython-{PYTHON_VERSION.replace('.', '')}"

# The markers of Lambda's platform, to follow only the requirements that apply there. pip
# evaluates markers with the installing Python's full version: the same here when its
# minor version is Lambda's (a backport for 3.11.0-3.11.2 then applies to neither).
_FULL_VERSION = platform.python_version()
_LAMBDA_MARKERS = {**default_environment(), "python_version": PYTHON_VERSION,
                   "python_full_version": _FULL_VERSION
                   if _FULL_VERSION.startswith(f"{PYTHON_VERSION}.") else f"{PYTHON_VERSION}.0",
                   "sys_platform": "linux", "platform_system": "Linux",
                   "platform_machine": "x86_64", "implementation_name": "cpython",
                   "platform_python_implementation": "CPython"}


def applies(requirement: Requirement, extras: Iterable[str] = ()) -> bool:
    """Whether `requirement` (of a distribution installed with `extras`) holds on Lambda."""
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({**_LAMBDA_MARKERS, "extra": extra})
               for extra in ("", *extras))


def distributions(deps: Path) -> dict[str, importlib.metadata.Distribution]:
    """The distributions installed in `deps`, by canonical name."""
    return {canonicalize_name(dist.metadata["Name"]): dist
            for dist in importlib.metadata.distributions(path=[str(deps)])}


def closure(requirements: list[str], installed: dict[str, importlib.metadata.Distribution],
            excluded: frozenset[str] = frozenset()) -> set[str]:
    """The installed distributions reachable from `requirements` (less `excluded` roots)
    by each one's declared requirements, as they apply on Lambda."""
    roots = [Requirement(spec) for spec in requirements]
    todo = [(canonicalize_name(r.name), set(r.extras)) for r in roots
            if canonicalize_name(r.name) not in excluded]
    seen: set[str] = set()
    while todo:
        name, extras = todo.pop()
        # A requirement pip did not install does not apply (e.g. a backport for an
        # older Python): there is nothing of it to keep.
        if name in seen or name not in installed:
            continue
        seen.add(name)
        for spec in installed[name].requires or []:
            requirement = Requirement(spec)
            if applies(requirement, extras):
                todo.append((canonicalize_name(requirement.name), set(requirement.extras)))
    return seen


def owned_files(dist: importlib.metadata.Distribution) -> set[str]:
    """The files pip installed for `dist` (its RECORD), relative to the install folder."""
    return {file.as_posix() for file in dist.files or []}


def dropped_files(requirements: list[str], deps: Path) -> tuple[set[str], list[str]]:
    """The files (relative to `deps`) of the distributions the layer leaves out, and their
    names. A file that a kept distribution also lists stays."""
    installed = distributions(deps)
    keep = closure(requirements, installed, RUNTIME_PROVIDED | NOT_AT_RUN_TIME)
    left_out = sorted(set(installed) - keep)
    kept_files = set().union(*(owned_files(installed[name]) for name in keep))
    dropped = set().union(*(owned_files(installed[name]) for name in left_out)) - kept_files
    return dropped, left_out


def _source_of(name: str) -> str | None:
    """`a/b/__pycache__/m.cpython-311.pyc` -> `a/b/m.py`; None for anything else."""
    folder, _, file = name.rpartition("/")
    if not (folder == "__pycache__" or folder.endswith("/__pycache__")):
        return None
    module, tag, suffix = file.rsplit(".", 2) if file.count(".") >= 2 else (file, "", "")
    if tag != CACHE_TAG or suffix != "pyc":
        return None
    parent = folder.removesuffix("__pycache__")
    return f"{parent}{module}.py"


def stripped(name: str) -> bool:
    """A test suite, C header folder, type stub or Cython source: nothing imports it."""
    parts = name.split("/")
    return (bool(STRIPPED_FOLDER_NAMES.intersection(parts[:-1]))
            or parts[0].endswith("-stubs") or name.startswith(STRIPPED_FOLDERS)
            or name.endswith(STRIPPED_SUFFIXES))


def one_form(entries: dict[str, Path]) -> dict[str, Path]:
    """Each dependency module once: its compiled `.pyc` in place of its `.py`, where one was
    compiled (by a Python of Lambda's version), else the `.py`.

    Why compiled: /opt is read-only, so Python cannot cache what it compiles there, and a
    module shipped as source alone is compiled again at every cold start: the app's
    imports and first wiring then take 2.7x the CPU time (infra/layer_import_time.py). A
    sourceless `.pyc` loads as fast as a cached one beside its source (one stat fewer:
    there is no source to check first; measured the same within noise), and both forms
    would make the layer 31.4 MiB zipped instead of 25.8. What it costs: a traceback
    through a dependency names the file and line without quoting the line. The emailsched
    package keeps both forms (build_layer), so our own frames do.
    """
    compiled = {source: name for name in entries if (source := _source_of(name))}
    shipped: dict[str, Path] = {}
    for name, path in entries.items():
        source = _source_of(name)
        if source is not None:
            if source in entries:  # sourceless: Python imports m.pyc where m.py would be
                shipped[source.removesuffix(".py") + ".pyc"] = path
        elif name not in compiled:
            shipped[name] = path
    return shipped


def kept_entries(requirements: list[str], deps: Path,
                 files: dict[str, Path]) -> tuple[dict[str, Path], list[str]]:
    """`files` (the installed dependencies, by path relative to `deps`) less what the layer
    leaves out, in both forms; and the names of the distributions left out."""
    dropped, left_out = dropped_files(requirements, deps)
    kept = {name: path for name, path in files.items()
            if name not in dropped and _source_of(name) not in dropped and not stripped(name)}
    return kept, left_out


def layer_entries(requirements: list[str], deps: Path,
                  files: dict[str, Path]) -> tuple[dict[str, Path], list[str]]:
    """What of `files` the layer ships, each module in one form (`one_form`); and the
    names of the distributions left out."""
    kept, left_out = kept_entries(requirements, deps, files)
    return one_form(kept), left_out
