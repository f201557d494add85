"""Big lists (issue 17, item 1): 1,000,000 rows with two fields imported through S3, against
psql's `\\copy` of the same file into a bare table, in the same run.

Timed from the schedule request to the import's `done` (the upload through the presigned
URL is timed apart: it is the emulator's and the network's, not ours). The ceiling is 40x
the `\\copy` time, which psql reports itself (`\\timing`: the COPY alone, not its start).
"""

from __future__ import annotations

import re
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy.engine import make_url

from emailsched.bench.environment import BenchEnvironment
from emailsched.bench.product import running_product
from emailsched.bench.report import Section

CEILING_RATIO = 40.0


def write_csv(path: Path, rows: int) -> int:
    with path.open("w") as out:
        out.write("email,first_name,company\n")
        for i in range(rows):
            out.write(f"person{i:07d}@example.com,First{i},Company {i % 997}\n")
    return path.stat().st_size


def psql_arguments(database_url: str) -> list[str]:
    url = make_url(database_url)
    socket = url.query.get("unix_sock")
    host = str(Path(str(socket)).parent) if socket else (url.host or "127.0.0.1")
    port = str(socket).rsplit(".", 1)[-1] if socket else str(url.port or 5432)
    return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", port,
            "-U", url.username or "postgres", "-d", url.database or "postgres"]


def psql_copy_seconds(database_url: str, csv_path: Path) -> float:
    script = ("CREATE TEMP TABLE bare (email text, first_name text, company text);\n"
              "\\timing on\n"
              f"\\copy bare FROM '{csv_path}' WITH (FORMAT csv, HEADER true)\n")
    done = subprocess.run(psql_arguments(database_url), input=script, text=True,
                          capture_output=True, check=True, timeout=600)
    found = re.findall(r"Time: ([0-9.]+) ms", done.stdout)
    if not found:
        raise RuntimeError(f"psql printed no timing: {done.stdout!r} {done.stderr!r}")
    return float(found[-1]) / 1000


def run_imports(env: BenchEnvironment, rows: int, section: Section) -> None:
    folder = env.scratch("imports-file")
    csv_path = folder / "list.csv"
    size = write_csv(csv_path, rows)
    with running_product(env, "imports") as product:
        product.cluster.start_imports()
        product.cluster.wait_until_ready()
        api = product.client("imports@example.com")
        session, base = api.session, api.base_url
        created = session.post(f"{base}/imports", json={"size": size}, timeout=30).json()
        began = time.perf_counter()
        with csv_path.open("rb") as body:
            put = requests.put(created["uploadUrl"], data=body,
                               headers={"Content-Type": "text/csv"}, timeout=600)
        put.raise_for_status()
        upload_seconds = time.perf_counter() - began
        start = datetime.now(UTC) + timedelta(days=1)
        began = time.perf_counter()
        answer = session.post(f"{base}/emails/schedule", timeout=60, json={
            "subject": "Hi {{ first_name }}", "body": "<p>{{ company }}</p>",
            "recipientsImportId": created["importId"], "startTime": start.isoformat(),
            "delayMs": 0, "hourlyLimit": 100_000,
            "sender": {"email": "bulk@example.com", "name": "Bulk"}})
        if answer.status_code != 202:
            raise RuntimeError(f"schedule answered {answer.status_code}: {answer.text[:300]}")
        accepted_seconds = time.perf_counter() - began
        status = _wait_done(session, f"{base}/imports/{created['importId']}")
        import_seconds = time.perf_counter() - began
        copy_seconds = psql_copy_seconds(product.database_url, csv_path)
        api.close()
    if status["status"] != "done" or status["valid"] != rows:
        raise RuntimeError(f"the import ended {status}")
    ratio = import_seconds / copy_seconds
    section.add(f"import {rows:,} rows (2 fields), schedule to done", import_seconds, "s")
    section.add("psql \\copy of the same file into a bare table", copy_seconds, "s")
    section.add("import / \\copy", round(ratio, 1), "x", f"<= {CEILING_RATIO:g}x",
                ratio <= CEILING_RATIO)
    section.details.append(
        f"file {size / 1e6:.1f} MB; upload through the presigned URL {upload_seconds:.1f} s; "
        f"202 after {accepted_seconds * 1000:.0f} ms; {rows / import_seconds:,.0f} rows/s; "
        f"counts {status['rows']} rows = {status['valid']} valid + {status['invalid']} "
        f"invalid + {status['duplicates']} duplicates + {status['suppressed']} suppressed")


def _wait_done(session: requests.Session, url: str, timeout: float = 1800) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = session.get(url, timeout=30).json()
        if status["status"] in ("done", "failed"):
            return dict(status)
        time.sleep(0.5)
    raise TimeoutError(f"the import did not end within {timeout:g} s")
