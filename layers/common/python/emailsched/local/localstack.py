"""LocalStack in host mode (no Docker), in a virtualenv of its own, as the AWS emulator of
`emailsched dev --aws localstack`, `emailsched bench --aws localstack` and the tests.

The virtualenv holds a pinned set that imports on Python 3.11 (newer localstack-core uses
newer syntax; newer cbor2, pyOpenSSL and cryptography break its plugin loading). It is built
once, under a lock so that concurrent builders wait for each other, and reused while its
record of the pins matches. Where it lives: `EMAILSCHED_LOCALSTACK_VENV` when set, else
`<data folder>/localstack/venv` for `emailsched dev`, else (bench, tests) a per-machine cache
named after the pins, `~/.cache/emailsched/localstack-venv-<hash>`.

The server keeps its files under `<folder>/fs` (LocalStack's FILESYSTEM_ROOT); the init hooks
of the repository's `localstack/ready.d` are linked into its `etc/localstack/init/ready.d`,
so LocalStack's own init runner runs them exactly as in Docker (docker-compose.yml mounts the
same folder), and start waits until `/_localstack/init/ready` reports them all successful.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from emailsched.local.embedded import (
    EmbeddedServiceError,
    _ChildServer,
    _end_stale,
    _free_port,
)

PINS: tuple[str, ...] = (
    "localstack-core[runtime]==4.6.0",
    "cbor2==5.6.5",
    "pyopenssl==24.2.1",
    "cryptography==43.0.3",
    "service-identity==24.2.0",
    "plux==1.12.1",
)
SERVICES = "sqs,s3,kms,secretsmanager"
VENV_SETTING = "EMAILSCHED_LOCALSTACK_VENV"
PYTHON_SETTING = "EMAILSCHED_LOCALSTACK_PYTHON"
MARKER = "emailsched-pins.json"
BUILD_TIMEOUT_SECONDS = 900.0
# Cold, on a busy 2-core machine, LocalStack takes well over moto's few seconds.
START_TIMEOUT_SECONDS = 120.0
HOOKS = Path(__file__).resolve().parents[5] / "localstack" / "ready.d"
LAYER_PYTHON = Path(__file__).resolve().parents[2]


class LocalStackError(EmbeddedServiceError):
    """LocalStack's virtualenv could not be built, or LocalStack did not start."""


def pins_digest(pins: Sequence[str] = PINS, python: str | None = None) -> str:
    version = "" if python else f"{sys.version_info.major}.{sys.version_info.minor}"
    return hashlib.sha256("\n".join([python or version, *pins]).encode()).hexdigest()[:12]


def shared_venv_dir(env: Mapping[str, str] | None = None) -> Path:
    """`EMAILSCHED_LOCALSTACK_VENV`, else the per-machine cache named after the pins."""
    env = os.environ if env is None else env
    if env.get(VENV_SETTING):
        return Path(env[VENV_SETTING]).expanduser().resolve()
    cache = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return (cache / "emailsched" / f"localstack-venv-{pins_digest()}").resolve()


def venv_dir_for(data_dir: Path, env: Mapping[str, str]) -> Path:
    """Where `emailsched dev` keeps it: `EMAILSCHED_LOCALSTACK_VENV`, else under its folder."""
    if env.get(VENV_SETTING):
        return Path(env[VENV_SETTING]).expanduser().resolve()
    return (data_dir / "localstack" / "venv").resolve()


def ensure_venv(venv: Path, pins: Sequence[str] = PINS, python: str | None = None,
                quiet: bool = False) -> Path:
    """The virtualenv's interpreter, building the virtualenv first unless it holds `pins`.

    One builder at a time (a lock file beside it); others wait and then reuse its work.
    Raises LocalStackError with one line naming what failed.
    """
    python = python or os.environ.get(PYTHON_SETTING)
    interpreter = venv / "bin" / "python"
    # The interpreter it was built with: a path only when one was chosen, so that clones of
    # the project in other folders share the per-machine cache.
    wanted = {"pins": list(pins),
              "python": python or f"{sys.version_info.major}.{sys.version_info.minor}"}
    python = python or sys.executable
    if _built(venv, wanted):
        return interpreter
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f"{venv.name}.lock").open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if _built(venv, wanted):
            return interpreter
        log = venv.parent / f"{venv.name}.build.log"
        if not quiet:
            print(f"localstack: building its virtualenv in {venv} (once; about a minute)",
                  file=sys.stderr, flush=True)
        shutil.rmtree(venv, ignore_errors=True)
        with log.open("w") as output:
            _step([python, "-m", "venv", str(venv)], f"creating it with {python}", venv, log,
                  output)
            _step([str(interpreter), "-m", "pip", "install", "--disable-pip-version-check",
                   "--no-input", *pins], f"pip install {' '.join(pins)}", venv, log, output)
            _step([str(interpreter), "-c", "import localstack.runtime.main"],
                  "importing localstack.runtime.main", venv, log, output)
        (venv / MARKER).write_text(json.dumps(wanted))
    return interpreter


def _built(venv: Path, wanted: dict[str, Any]) -> bool:
    try:
        return bool(json.loads((venv / MARKER).read_text()) == wanted
                    and (venv / "bin" / "python").exists())
    except (OSError, ValueError):
        return False


def _step(command: list[str], what: str, venv: Path, log: Path, output: Any) -> None:
    output.write(f"$ {' '.join(command)}\n")
    output.flush()
    try:
        done = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, timeout=BUILD_TIMEOUT_SECONDS)
    except (OSError, subprocess.SubprocessError) as error:
        raise LocalStackError(f"could not build LocalStack's virtualenv in {venv}: {what} "
                              f"failed: {error}") from error
    if done.returncode != 0:
        output.flush()
        raise LocalStackError(f"could not build LocalStack's virtualenv in {venv}: {what} "
                              f"failed (exit status {done.returncode}): {_last_error(log)}; "
                              f"see {log}")


def _last_error(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines()
             if line.strip() and not line.startswith(("WARNING: Location", "$ "))]
    errors = [line for line in lines if "ERROR" in line or "Error" in line]
    return (errors or lines or ["no output"])[-1][:300]


class EmbeddedLocalStack(_ChildServer):
    """LocalStack's gateway as a child process (SQS, S3, KMS, Secrets Manager)."""

    kind = "localstack"

    def __init__(self, command: list[str], folder: Path, host: str, port: int,
                 env: dict[str, str]):
        super().__init__(command, folder / "localstack.pid", folder / "localstack.log", env=env)
        self.pidfile.write_text(str(self.pid))
        self.host, self.port = host, port

    @property
    def url(self) -> str:
        """Endpoint URL for boto3 (`endpoint_url=`) or `AWS_ENDPOINT_URL`."""
        return f"http://{self.host}:{self.port}"

    def describe(self) -> str:
        return f"LocalStack 4.6 (host mode) at {self.url}"

    def wait_ready(self, timeout: float) -> None:
        """Until its health answers and the ready.d stage completed; stop and fail if it
        exits or time runs out (LocalStack cold on a busy machine is slower than moto)."""
        deadline = time.monotonic() + timeout
        while not _hooks_done(self):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise LocalStackError(f"LocalStack did not start (exit status "
                                      f"{self.process.returncode}); see {self.log}")
            time.sleep(0.1)

    def stop(self) -> None:
        super().stop()
        # Its own session: whatever it started goes with it.
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGKILL)


def start_localstack(port: int | None, folder: Path, host: str = "127.0.0.1",
                     venv: Path | None = None, env: Mapping[str, str] | None = None,
                     hooks: Path = HOOKS) -> EmbeddedLocalStack:
    """Build or reuse the virtualenv, start LocalStack on host:port (None or 0: a free
    port) with its files under `folder`, and wait until its init hooks have run.

    `env` gives what the hooks read (SEND_QUEUE_NAME); about 5 s once the venv exists.
    """
    source = os.environ if env is None else env
    interpreter = ensure_venv(venv or shared_venv_dir(source))
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    _end_stale(folder / "localstack.pid", "localstack.runtime.main")
    init = folder / "fs" / "etc" / "localstack" / "init"
    init.mkdir(parents=True, exist_ok=True)
    ready_d = init / "ready.d"
    if ready_d.is_symlink() or ready_d.is_file():
        ready_d.unlink()
    elif ready_d.exists():
        shutil.rmtree(ready_d)
    ready_d.symlink_to(hooks.resolve(), target_is_directory=True)
    port = port or _free_port(host)
    url = f"http://{host}:{port}"
    child_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))},
        "GATEWAY_LISTEN": f"{host}:{port}", "LOCALSTACK_HOST": f"{host}:{port}",
        "SERVICES": SERVICES, "OVERRIDE_IN_DOCKER": "0",
        "FILESYSTEM_ROOT": str(folder / "fs"),
        # No DNS server (it would want port 53), no analytics, no certificate download:
        # nothing here may need the internet.
        "DNS_ADDRESS": "0", "DISABLE_EVENTS": "1", "SKIP_SSL_CERT_DOWNLOAD": "1",
        # Queue URLs on the gateway's own address, not *.localhost.localstack.cloud.
        "SQS_ENDPOINT_STRATEGY": "path", "LS_LOG": source.get("LS_LOG", "warn"),
        # What the hooks read (localstack/ready.d), as docker-compose.yml sets them.
        "AWS_ENDPOINT_URL": url, "AWS_DEFAULT_REGION": source.get("AWS_REGION", "us-east-1"),
        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
        "SEND_QUEUE_NAME": source.get("SEND_QUEUE_NAME", "emailsched-send"),
        "EMAILSCHED_PYTHONPATH": str(LAYER_PYTHON),
    }
    server = EmbeddedLocalStack([str(interpreter), "-m", "localstack.runtime.main"], folder,
                                host, port, child_env)
    server.wait_ready(START_TIMEOUT_SECONDS)
    failed = [s["name"] for s in _init_state(url).get("scripts", [])
              if s.get("state") != "SUCCESSFUL"]
    if failed:
        server.stop()
        raise LocalStackError(f"LocalStack's init hook(s) {', '.join(failed)} failed; see "
                              f"{server.log}")
    return server


def _init_state(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"{url}/_localstack/init/ready", timeout=1) as response:
            found: dict[str, Any] = json.loads(response.read())
            return found
    except (OSError, ValueError):
        return {}


def _hooks_done(server: EmbeddedLocalStack) -> bool:
    """Health answers with SQS up, and the ready.d stage has completed."""
    try:
        with urllib.request.urlopen(f"{server.url}/_localstack/health", timeout=1) as response:
            health = json.loads(response.read())
    except (OSError, ValueError):
        return False
    if health.get("services", {}).get("sqs") not in ("running", "available"):
        return False
    return bool(_init_state(server.url).get("completed"))


if __name__ == "__main__":  # `python -m emailsched.local.localstack`: build the shared one
    try:
        print(ensure_venv(shared_venv_dir()).parent.parent)
    except LocalStackError as error:
        print(f"localstack: {error}", file=sys.stderr)
        sys.exit(1)
