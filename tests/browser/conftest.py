"""Fixtures for the browser tier: the built dashboard, the whole product running as
`emailsched dev` runs it (with timings short enough for a test), and Debian's Chromium
driven by Playwright, with every console error and page error collected.

The machine's Postgres and Redis are used when they answer (a database and a key prefix of
our own, removed afterwards); otherwise the Cluster embeds them, as `emailsched dev` does.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from emailsched.local.cluster import Cluster
from tests.browser.watch import ConsoleWatch

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "dashboard"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
MACHINE_POSTGRES = "postgresql+pg8000://postgres@127.0.0.1:5432/postgres"
MACHINE_REDIS = "redis://127.0.0.1:6379/0"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
# No sandbox: CI runs as root. The rest keeps Chromium from calling home or updating itself.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Quick enough for a test, slow enough to pause a batch half-way. A lost queue message is
# recovered after PUMP_LOST_AFTER_SECONDS: kept at `emailsched dev`'s 30 so that a lost one
# shows as a late email and fails the test instead of being papered over.
STACK_ENV = {
    "AUTH_MODE": "dev",
    "PUMP_HORIZON_SECONDS": "60",
    "MIN_DELAY_BETWEEN_EMAILS_MS": "0",
    "EARLY_HOLD_SECONDS": "2",
    "PUMP_LOST_AFTER_SECONDS": "30",
    "LOG_LEVEL": "WARNING",
}
POLL_INTERVAL_MS = 1000
PUMP_INTERVAL_SECONDS = 0.5


@pytest.fixture(scope="session")
def chromium_path() -> str:
    for candidate in filter(None, (os.environ.get("EMAILSCHED_CHROMIUM"), *CHROMIUM_CANDIDATES)):
        found = shutil.which(candidate)
        if found:
            return found
    pytest.skip(
        "no Chromium executable found (apt-get install chromium, or set "
        "EMAILSCHED_CHROMIUM); Playwright cannot download one here"
    )


@pytest.fixture(scope="session")
def dashboard_dist() -> Path:
    """dashboard/dist, built first when it is missing or older than the sources."""
    dist = DASHBOARD / "dist"
    if (dist / "index.html").exists() and not _sources_newer_than(dist / "index.html"):
        return dist
    if shutil.which("npm") is None:
        pytest.skip("dashboard/dist is not built and npm is not installed to build it")
    if not (DASHBOARD / "node_modules").exists():
        _npm("ci", "--no-audit", "--no-fund", "--loglevel=error")
    _npm("run", "--silent", "build")
    return dist


def _sources_newer_than(built: Path) -> bool:
    stamp = built.stat().st_mtime
    sources = [DASHBOARD / "index.html", *(DASHBOARD / "src").rglob("*")]
    return any(path.is_file() and path.stat().st_mtime > stamp for path in sources)


def _npm(*arguments: str) -> None:
    subprocess.run(["npm", *arguments], cwd=DASHBOARD, check=True, timeout=600)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, dashboard_dist: Path) -> Iterator[Cluster]:
    """API (serving dashboard/dist), one sender worker, the pump every 0.5 s, moto's SQS and
    the SMTP capture inbox: a `emailsched dev` with short timings."""
    suffix = uuid.uuid4().hex[:10]
    env = {
        **STACK_ENV,
        "REDIS_KEY_PREFIX": f"emailsched-browser-{suffix}:",
        "SEND_QUEUE_NAME": f"emailsched-browser-{suffix}",
    }
    with ExitStack() as cleanup:
        database = _machine_database(f"emailsched_browser_{suffix}")
        if database is not None:
            env["DATABASE_URL"], drop = database
            cleanup.callback(drop)
        redis_url = os.environ.get("EMAILSCHED_TEST_REDIS", MACHINE_REDIS)
        if _redis_answers(redis_url):
            env["REDIS_URL"] = redis_url
            cleanup.callback(_forget_redis_keys, redis_url, env["REDIS_KEY_PREFIX"])
        cluster = Cluster(
            tmp_path_factory.mktemp("browser-stack"), port=_free_port(), env=env, quiet=True
        )
        cleanup.callback(cluster.stop)
        cluster.start_services()
        cluster.prepare()
        cluster.start_api()
        cluster.start_worker(2)
        cluster.start_pump(PUMP_INTERVAL_SECONDS)
        cluster.wait_for_api()
        yield cluster


def _machine_database(name: str) -> tuple[str, Callable[[], None]] | None:
    """A fresh database on the machine's Postgres, or None when it does not answer."""
    import sqlalchemy
    from sqlalchemy.engine import make_url

    admin_url = os.environ.get("EMAILSCHED_TEST_POSTGRES", MACHINE_POSTGRES)
    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception:
        admin.dispose()
        return None

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return url, drop


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


def _forget_redis_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter(match=f"{prefix}*", count=500):
        client.delete(key)
    client.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright, chromium_path: str) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(
        executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Browser, stack: Cluster) -> Iterator[Page]:
    """A fresh browser profile on the stack's dashboard, refreshing every second while
    anything is pending (the dashboard's run-time `pollIntervalMs`)."""
    context = browser.new_context(
        base_url=stack.api_url,
        viewport={"width": 1280, "height": 900},
        locale="en-US",
        reduced_motion="reduce",
    )
    context.set_default_timeout(15_000)
    context.route(
        "**/config.js",
        lambda route: route.fulfill(
            content_type="text/javascript",
            body=f'window.__EMAILSCHED_CONFIG__ = {{"apiBaseUrl": "", '
            f'"pollIntervalMs": {POLL_INTERVAL_MS}}};\n',
        ),
    )
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def console(page: Page) -> ConsoleWatch:
    """Every console error and uncaught page error of `page`; tests assert it is clean."""
    return ConsoleWatch.attach(page)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
