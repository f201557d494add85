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


def psql_copy_seconds(database_url: str, csv_path: Path, runs: int = 3) -> float:
    """The fastest of `runs` \\copy runs, each into a fresh bare table: the strictest
    baseline (a single run varied from 0.33 to 0.52 s on this machine)."""
    script = "\\timing on\n" + "".join(
        f"CREATE TEMP TABLE bare{n} (email text, first_name text, company text);\n"
        f"\\copy bare{n} FROM '{csv_path}' WITH (FORMAT csv, HEADER true)\n"
        for n in range(runs))
    done = subprocess.run(psql_arguments(database_url), input=script, text=True,
                          capture_output=True, check=True, timeout=600)
    found = re.findall(r"Time: ([0-9.]+) ms", done.stdout)
    if len(found) < 2 * runs:
        raise RuntimeError(f"psql printed no timing: {done.stdout!r} {done.stderr!r}")
    return min(float(ms) for ms in found[1::2]) / 1000  # each copy after its CREATE


def schema_floor_seconds(database_url: str, planned_csv: Path) -> float:
    """The seconds psql takes to COPY the imported batch's rows, as planned, into emails
    emptied by TRUNCATE (as the import found it) under a copy of the batch, all rolled
    back: what the schema alone costs, with no Python."""
    columns = "id, batch_id, user_id, sender_id, seq, recipient_email, due_at, wake_at, fields"
    # New ids in the same order (uuid7: the first hex digit moved), so the primary key is
    # appended to as the import's was; the batch's copy has the all-zero id.
    script = (
        "SELECT id AS old_batch FROM batches LIMIT 1 \\gset\n"
        f"\\copy (SELECT overlay(id::text placing 'f' from 1 for 1), "
        f"'00000000-0000-0000-0000-000000000000', user_id, sender_id, seq, recipient_email, "
        f"due_at, wake_at, fields FROM emails) TO '{planned_csv}' WITH (FORMAT csv)\n"
        "BEGIN;\n"
        "INSERT INTO batches (id, user_id, sender_id, subject, body, start_time, delay_ms, "
        "hourly_limit, email_count, estimated_end_time) SELECT '00000000-0000-0000-0000-"
        "000000000000', user_id, sender_id, subject, body, start_time, delay_ms, "
        "hourly_limit, email_count, estimated_end_time FROM batches WHERE id = :'old_batch';\n"
        "TRUNCATE emails CASCADE;\n"
        "\\timing on\n"
        f"\\copy emails ({columns}) FROM '{planned_csv}' WITH (FORMAT csv)\n"
        "\\timing off\n"
        "ROLLBACK;\n")
    done = subprocess.run(psql_arguments(database_url), input=script, text=True,
                          capture_output=True, check=True, timeout=900)
    found = re.findall(r"Time: ([0-9.]+) ms", done.stdout)
    planned_csv.unlink(missing_ok=True)
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
        timings: dict[str, float] = {}
        import_seconds, status = import_list(api.session, api.base_url, csv_path,
                                             datetime.now(UTC) + timedelta(days=1), timings)
        upload_seconds, accepted_seconds = timings["upload"], timings["accepted"]
        copy_seconds = psql_copy_seconds(product.database_url, csv_path)
        floor_seconds = schema_floor_seconds(product.database_url, folder / "planned.csv")
        api.close()
    if status["status"] != "done" or status["valid"] != rows:
        raise RuntimeError(f"the import ended {status}")
    ratio = import_seconds / copy_seconds
    section.add(f"import {rows:,} rows (2 fields), schedule to done", import_seconds, "s")
    section.add("psql \\copy of the same file into a bare table (best of 3)", copy_seconds,
                "s")
    section.add("import / \\copy", round(ratio, 1), "x", f"<= {CEILING_RATIO:g}x",
                ratio <= CEILING_RATIO)
    section.add("  the schema alone: psql COPYs the planned rows into emails", floor_seconds,
                "s")
    section.add("  the schema alone / \\copy", round(floor_seconds / copy_seconds, 1), "x")
    section.add("  import / the schema alone", round(import_seconds / floor_seconds, 2), "x")
    section.details.append(
        "the schema alone: the import's own planned rows (new ids, a copy of its batch) "
        "written out by psql and COPYed back into emails emptied as the import found it, "
        "with the primary key, the unique key and the 5 other indexes a scheduled email "
        "enters, in a transaction rolled back; no Python, one core")
    section.details.append(
        f"file {size / 1e6:.1f} MB; upload through the presigned URL {upload_seconds:.1f} s; "
        f"202 after {accepted_seconds * 1000:.0f} ms; {rows / import_seconds:,.0f} rows/s; "
        f"counts {status['rows']} rows = {status['valid']} valid + {status['invalid']} "
        f"invalid + {status['duplicates']} duplicates + {status['suppressed']} suppressed")


def import_list(session: requests.Session, base: str, csv_path: Path, start: datetime,
                timings: dict[str, float] | None = None) -> tuple[float, dict]:
    """Upload `csv_path` through a presigned URL and schedule it (one relay sender, fields
    in subject and body): (seconds from the schedule request to done or failed, the
    import's final status). `timings` gets the upload's and the 202's seconds."""
    created = session.post(f"{base}/imports", json={"size": csv_path.stat().st_size},
                           timeout=30).json()
    began = time.perf_counter()
    with csv_path.open("rb") as body:
        put = requests.put(created["uploadUrl"], data=body,
                           headers={"Content-Type": "text/csv"}, timeout=600)
    put.raise_for_status()
    upload_seconds = time.perf_counter() - began
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
    if timings is not None:
        timings.update(upload=upload_seconds, accepted=accepted_seconds)
    return time.perf_counter() - began, status


def _wait_done(session: requests.Session, url: str, timeout: float = 1800) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = session.get(url, timeout=30).json()
        if status["status"] in ("done", "failed"):
            return dict(status)
        time.sleep(0.1)
    raise TimeoutError(f"the import did not end within {timeout:g} s")
