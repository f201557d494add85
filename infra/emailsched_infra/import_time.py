"""How long a cold start's imports take from the layer, with its dependencies in each of
three forms: as shipped (compiled only, layer_contents.one_form), both forms (source and
`__pycache__`), and sources only (what a layer without bytecode costs: /opt is read-only,
so every cold start compiles them again). Lambda's folders are laid out locally: /var/task
(functions/app.py and Chalice's runtime), /opt/python, then the runtime's SDK.

The figure: CPU milliseconds of the process from the first import of app.py to the wiring
of the API, sender and pump built (bootstrap's lazy imports), in a fresh interpreter that
writes no bytecode (`-B`, as on read-only /opt); the median of `runs` interpreters per form,
alternating. CPU time rather than wall time: on a shared machine the wall clock mostly
measures the neighbours.
"""

from __future__ import annotations

import compileall
import importlib
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from emailsched_infra import layer, layer_contents

COLD_START = r"""
import sys, time
sys.path[:0] = sys.argv[1:4]
t = time.process_time()
import app
from emailsched import bootstrap
c = bootstrap.container()
c.auth; c.queries; c.scheduling; c.pump; c.sender; c.queue; c.dead_letter_queue
import emailsched.api.sqs_batch
print((time.process_time() - t) * 1000)
"""
# Settings that let the wiring be built without reaching any service (nothing connects).
OFFLINE = {"DATABASE_URL": "postgresql+pg8000://nobody@127.0.0.1:1/none",
           "REDIS_URL": "redis://127.0.0.1:1/0", "AUTH_MODE": "google",
           "GOOGLE_CLIENT_ID": "bench.apps.googleusercontent.com", "SESSION_SECRET": "x" * 32,
           "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:1"}


def _sources_only(entries: dict[str, Path]) -> dict[str, Path]:
    return {name: path for name, path in entries.items() if not name.endswith(".pyc")}


FORMS: dict[str, Callable[[dict[str, Path]], dict[str, Path]]] = {
    "as shipped": layer_contents.one_form, "both forms": dict, "sources only": _sources_only}


def runtime_sdk(deps: Path, target: Path) -> Path:
    """A stand-in for what Lambda's Python runtime has beside the standard library: boto3
    and its dependencies (compiled), copied from the layer build's dependency install."""
    installed = layer_contents.distributions(deps)
    for name in layer_contents.closure(sorted(layer_contents.RUNTIME_PROVIDED), installed):
        for file in layer_contents.owned_files(installed[name]):
            if not file.startswith("../"):  # console scripts: not in the runtime
                (target / file).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(deps / file, target / file)
    compileall.compile_dir(target, quiet=2, workers=0)
    return target


def _copy(entries: dict[str, Path], target: Path) -> Path:
    for name, path in entries.items():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / name)
    return target


def lay_out(root: Path, repo: Path, build_dir: Path) -> tuple[Path, Path, dict[str, Path]]:
    """(task folder, runtime SDK folder, {form: opt/python folder}) under `root`, from a
    build of the layer in `build_dir`."""
    pyproject = repo / "pyproject.toml"
    layer.build_layer(repo / "layers" / "common", pyproject, build_dir)
    requirements = layer.runtime_requirements(pyproject)
    deps = layer.install_dependencies(requirements, build_dir / "cache")
    kept, _ = layer_contents.kept_entries(requirements, deps, dict(layer.files_under(deps)))
    package = dict(layer.files_under(build_dir / "package"))
    opts = {}
    for form, shape in FORMS.items():
        ours = _sources_only(package) if form == "sources only" else package
        opts[form] = _copy({**shape(kept), **ours}, root / form.replace(" ", "-"))
    task = root / "task"
    chalice = Path(str(importlib.import_module("chalice").__file__)).parent
    _copy({"app.py": repo / "functions" / "app.py", "chalice/__init__.py":
           chalice / "__init__.py", "chalice/app.py": chalice / "app.py"}, task)
    return task, runtime_sdk(deps, root / "runtime"), opts


def measure(task: Path, runtime: Path, opts: dict[str, Path],
            runs: int) -> dict[str, list[float]]:
    """CPU milliseconds of COLD_START, `runs` times for each form, alternating."""
    times: dict[str, list[float]] = {form: [] for form in opts}
    env = {**OFFLINE, "PATH": os.environ.get("PATH", "")}
    for _ in range(runs):
        for form, opt in opts.items():
            done = subprocess.run([sys.executable, "-S", "-B", "-c", COLD_START, str(task),
                                   str(opt), str(runtime)], env=env, capture_output=True,
                                  text=True, cwd=opt.parent, timeout=120, check=True)
            times[form].append(float(done.stdout.split()[-1]))
    return times


def report(times: dict[str, list[float]]) -> list[str]:
    base = statistics.median(times["as shipped"])
    return [f"{form:<13} median {statistics.median(values):6.0f} ms "
            f"({statistics.median(values) / base:.2f}x as shipped); each: "
            + ", ".join(f"{v:.0f}" for v in values) for form, values in times.items()]
