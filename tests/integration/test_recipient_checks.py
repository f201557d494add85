"""Recipients checked at scheduling (issue 29) through HTTP, against a real DNS server
(dnsmasq, tests/support/dnsmasq.py) and real Redis for the cache of answers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy

from emailsched import bootstrap
from emailsched.local.dnsmasq import DnsmasqServer
from tests.support.stack import Api, Services, prepare, serving_api

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.support.dnsmasq"]

GOOD = ["ann@mail.test", "bob@hostonly.test", "cy@good.test"]


def body(recipients: list[str]) -> dict[str, object]:
    return {"subject": "Hello", "body": "<p>Hi</p>", "recipients": recipients,
            "startTime": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "delayMs": 1000, "hourlyLimit": 100,
            "sender": {"email": "sales@example.com", "name": "Sales"}}


def stored_recipients(services: Services) -> list[str]:
    engine = sqlalchemy.create_engine(services.database_url)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT recipient_email FROM emails").scalars().all()
    engine.dispose()
    return sorted(rows)


@pytest.fixture
def checked_api(services: Services, dnsmasq: DnsmasqServer) -> Iterator[str]:
    prepare(services.settings(RECIPIENT_DNS_CHECK=True, DNS_NAMESERVERS=dnsmasq.nameservers))
    with serving_api() as url:
        yield url


def test_recipients_at_dead_and_disposable_domains_are_dropped_and_counted(
        checked_api: str, services: Services) -> None:
    answer = Api(checked_api).post("/emails/schedule", body(
        [*GOOD, "dan@nowhere.test", "eve@mailinator.com"]))
    assert answer.status_code == 201, answer.text
    assert answer.json()["invalidRemoved"] == {"no_mx": 1, "disposable": 1}
    assert answer.json()["emailCount"] == 3
    assert stored_recipients(services) == sorted(GOOD)


def test_answers_are_cached_for_the_next_scheduling(checked_api: str) -> None:
    api = Api(checked_api)
    assert api.post("/emails/schedule", body(["a@mail.test", "b@gone.test"])).status_code == 201
    cache = bootstrap.container().redis
    prefix = bootstrap.container().settings.REDIS_KEY_PREFIX + "mailhost:"
    assert cache.get(prefix + "mail.test") == b"found"
    assert 3000 < cache.ttl(prefix + "gone.test") <= 3600  # an hour for not found
    assert cache.ttl(prefix + "mail.test") > 3600  # a day for found


def test_a_list_of_only_refused_recipients_is_refused(checked_api: str) -> None:
    answer = Api(checked_api).post("/emails/schedule", body(["x@nowhere.test"]))
    assert answer.status_code == 400
    assert answer.json()["error"]["details"][0]["field"] == "recipients"


def test_a_dns_server_that_does_not_answer_keeps_every_recipient_and_warns_once(
        services: Services, silent_dns: str, caplog: pytest.LogCaptureFixture) -> None:
    prepare(services.settings(RECIPIENT_DNS_CHECK=True, DNS_NAMESERVERS=silent_dns,
                              DNS_TIMEOUT_SECONDS=0.5))
    recipients = [f"r{i}@slow{i % 4}.io" for i in range(8)]
    with serving_api() as url, caplog.at_level(logging.WARNING):
        answer = Api(url).post("/emails/schedule", body(recipients))
    assert answer.status_code == 201, answer.text
    assert answer.json()["invalidRemoved"] == {"no_mx": 0, "disposable": 0}
    assert stored_recipients(services) == sorted(recipients)
    warnings = [r for r in caplog.records if "DNS did not answer" in r.getMessage()]
    assert len(warnings) == 1 and "4 domain(s)" in warnings[0].getMessage()


@pytest.mark.parametrize("chunking", [{}, {"IMPORT_ROWS_PER_INVOCATION": 2,
                                          "IMPORT_CHUNK_ROWS": 2}], ids=["direct", "staged"])
def test_an_import_drops_refused_recipients_and_reports_them_by_line(
        services: Services, dnsmasq: DnsmasqServer, chunking: dict[str, int]) -> None:
    from tests.support.stack import Pipeline

    container = prepare(services.settings(RECIPIENT_DNS_CHECK=True,
                                          DNS_NAMESERVERS=dnsmasq.nameservers, **chunking))
    pipeline = Pipeline(container, pollers=1).start()
    try:
        from tests.integration.test_imports import imported

        csv_text = ("email,first_name\nann@mail.test,Ann\ndan@nowhere.test,Dan\n"
                    "bob@hostonly.test,Bob\neve@mailinator.com,Eve\ncy@good.test,Cy\n")
        final = imported(Api(pipeline.url), csv_text)
    finally:
        pipeline.close()
        container.close()
    assert final["status"] == "done", final["errors"]
    assert (final["valid"], final["invalid"], final["rows"]) == (3, 2, 5)
    assert [(e["line"], e["message"].split(":")[0]) for e in final["errors"]] == [
        (3, "no_mx"), (5, "disposable")]
    assert stored_recipients(services) == sorted(GOOD)
