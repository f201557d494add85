"""The `common` Lambda layer: the `emailsched` package and its runtime dependencies, in the
`python/` layout Lambda puts on sys.path, zipped byte for byte the same from the same input.

Only what Lambda imports goes in: the local tooling (`emailsched/local/`, `emailsched/bench/`,
the in-memory fakes, the command line and the migrations it applies) stays in the installed
package for development and out of the zip (NOT_IN_LAYER_PACKAGE); of the dependencies,
what layer_contents.py keeps.

Dependencies come from pyproject.toml's [project.dependencies], installed as Linux wheels
for Lambda's Python, and are cached under the build directory by a hash of that list, so a
second build reuses them (delete the cache, or pass refresh, to pick up new releases).
"""

from __future__ import annotations

import base64
import compileall
import hashlib
import os
import py_compile
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from emailsched_infra import artifacts_bucket, layer_contents
from emailsched_infra.stage import PYTHON_VERSION, RUNTIME

PLATFORM = "manylinux2014_x86_64"
# Chalice puts its own runtime (chalice/app.py) into every function's package, and the
# `chalice` distribution is the CLI with pip, setuptools and friends: not for the layer.
NOT_IN_LAYER = {"chalice"}
# The sizes Lambda allows: everything unzipped (function + layers) and a direct upload.
UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
DIRECT_UPLOAD_LIMIT_BYTES = 50 * 1024 * 1024
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
LAMBDA_PATH = "/opt/python"  # where Lambda unpacks the layer's python/ folder
SKIP_PARTS = {".pytest_cache", ".mypy_cache"}
# Parts of the emailsched package that functions/app.py never imports, directly or not:
# the `emailsched dev` stack, the benchmarks, the in-memory fakes and the CLI that runs them,
# and the Alembic migrations `emailsched setup` applies (Alembic is not in the layer).
NOT_IN_LAYER_PACKAGE = ("local", "bench", "fakes.py", "fakes_sending.py", "cli.py", "migrations")


@dataclass(frozen=True)
class LayerZip:
    path: Path
    zipped_bytes: int
    unzipped_bytes: int
    files: int
    left_out: tuple[str, ...] = ()  # dependencies installed but not shipped

    @property
    def sha256_b64(self) -> str:
        """The zip's SHA-256 in the encoding Lambda reports as CodeSha256."""
        return base64.b64encode(hashlib.sha256(self.path.read_bytes()).digest()).decode()


def runtime_requirements(pyproject: Path) -> list[str]:
    """The project's runtime dependencies, less those Lambda gets another way."""
    project = tomllib.loads(pyproject.read_text())["project"]
    return [spec for spec in project["dependencies"]
            if canonicalize_name(Requirement(spec).name) not in NOT_IN_LAYER]


def _compiles() -> bool:
    """Whether this Python writes bytecode Lambda's Python can load (same minor version)."""
    return f"{sys.version_info.major}.{sys.version_info.minor}" == PYTHON_VERSION


def _compile(root: Path) -> None:
    # /opt is read-only on Lambda, so without these every cold start compiles every module.
    # Unchecked-hash .pyc files carry no timestamps (the zip stays reproducible) and are
    # never re-validated, which suits a layer that cannot change.
    if _compiles():
        # ddir: tracebacks name the files where Lambda mounts them, whatever the build path.
        compileall.compile_dir(root, quiet=2, workers=0, ddir=LAMBDA_PATH,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)


def install_dependencies(requirements: list[str], cache: Path, refresh: bool = False) -> Path:
    """Install `requirements` for Lambda into a cached folder; return that folder."""
    key = hashlib.sha256("\n".join([PLATFORM, PYTHON_VERSION, *requirements]).encode())
    target = cache / f"deps-{key.hexdigest()[:16]}"
    if (target / ".complete").exists() and not refresh:
        return target
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--target", str(partial), "--platform", PLATFORM, "--implementation", "cp",
         "--python-version", PYTHON_VERSION, "--only-binary=:all:", "--no-compile",
         *requirements], check=True)
    shutil.rmtree(partial / "bin", ignore_errors=True)  # console scripts: no use in Lambda
    _compile(partial)
    (partial / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def files_under(root: Path) -> Iterator[tuple[str, Path]]:
    """(path relative to `root`, path) of each file a layer build takes from `root`."""
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if path.is_file() and not SKIP_PARTS.intersection(relative.parts) \
                and path.name != ".complete":
            yield relative.as_posix(), path


def _add(archive: zipfile.ZipFile, path: Path, name: str) -> int:
    info = zipfile.ZipInfo(f"python/{name}", date_time=ZIP_EPOCH)
    info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    data = path.read_bytes()
    archive.writestr(info, data, compresslevel=6)
    return len(data)


def _not_for_lambda(source: Path) -> Any:
    """A copytree `ignore` that drops caches everywhere and NOT_IN_LAYER_PACKAGE at the top."""
    caches = shutil.ignore_patterns("__pycache__", "*.pyc")

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = set(caches(folder, names))
        if Path(folder) == source:
            skipped.update(name for name in names if name in NOT_IN_LAYER_PACKAGE)
        return skipped

    return ignore


def build_layer(layer_src: Path, pyproject: Path, build_dir: Path,
                refresh: bool = False) -> LayerZip:
    """Build `<build_dir>/common-layer.zip` from layers/common/python and the dependencies."""
    requirements = runtime_requirements(pyproject)
    deps = install_dependencies(requirements, build_dir / "cache", refresh)
    package = build_dir / "package"
    shutil.rmtree(package, ignore_errors=True)
    source = layer_src / "python" / "emailsched"
    shutil.copytree(source, package / "emailsched", ignore=_not_for_lambda(source))
    _compile(package)
    entries, left_out = layer_contents.layer_entries(requirements, deps, dict(files_under(deps)))
    # Our package keeps its sources beside the compiled files: its frames in a traceback
    # quote their lines, for 1 MiB. Ours wins over anything of the same name.
    entries.update(files_under(package))
    out = build_dir / "common-layer.zip"
    unzipped = _zip(entries, out)
    if unzipped > UNZIPPED_LIMIT_BYTES:
        raise SystemExit(f"layer unzips to {unzipped / 2**20:.0f} MiB: over Lambda's 250 MB")
    if not _compiles():
        print(f"warning: Python {sys.version_info.major}.{sys.version_info.minor} cannot "
              f"compile for Lambda's {PYTHON_VERSION}: the layer ships sources only, which "
              "every cold start compiles again; deploy with Python "
              f"{PYTHON_VERSION}", file=sys.stderr, flush=True)
    return LayerZip(out, out.stat().st_size, unzipped, len(entries), tuple(left_out))


def _zip(entries: dict[str, Path], out: Path) -> int:
    """Write `entries` under python/ in name order; returns their unzipped bytes."""
    with zipfile.ZipFile(out, "w") as archive:
        return sum(_add(archive, entries[name], name) for name in sorted(entries))


def publish(lambda_client: Any, s3: Any, name: str, layer: LayerZip,
            bucket: Callable[[], str],
            direct_limit: int = DIRECT_UPLOAD_LIMIT_BYTES) -> tuple[str, bool]:
    """The ARN of a layer version with exactly this zip: the newest one if it matches,
    else a new one. Returns (arn, published). A zip over `direct_limit` goes through S3,
    into the bucket `bucket()` names (called only then: it may create one)."""
    versions = lambda_client.list_layer_versions(LayerName=name)["LayerVersions"]
    if versions:
        newest = max(versions, key=lambda version: version["Version"])
        found = lambda_client.get_layer_version(LayerName=name, VersionNumber=newest["Version"])
        if found["Content"]["CodeSha256"] == layer.sha256_b64:
            return str(found["LayerVersionArn"]), False
    if layer.zipped_bytes <= direct_limit:
        content: dict[str, Any] = {"ZipFile": layer.path.read_bytes()}
    else:
        content = artifacts_bucket.upload(s3, bucket(), f"layers/{name}", layer.path)
    answer = lambda_client.publish_layer_version(
        LayerName=name, Content=content,
        Description=f"emailsched common layer sha256:{layer.sha256_b64}",
        CompatibleRuntimes=[RUNTIME], CompatibleArchitectures=["x86_64"])
    return str(answer["LayerVersionArn"]), True
