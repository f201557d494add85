"""GET /senders/{id}/dns (issue 29) through HTTP, against a real DNS server (dnsmasq with the
zones of tests/support/dnsmasq.py) and real Postgres, where the answer is kept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emailsched import bootstrap
from emailsched.local.dnsmasq import DnsmasqServer
from tests.support.stack import Api, Services, prepare, serving_api

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.support.dnsmasq"]


@pytest.fixture
def api(services: Services, dnsmasq: DnsmasqServer) -> Iterator[Api]:
    prepare(services.settings(DNS_NAMESERVERS=dnsmasq.nameservers))
    with serving_api() as url:
        yield Api(url)


def sender(api: Api, email: str, **more: object) -> str:
    answer = api.post("/senders", {"email": email, **more})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_spf_dkim_and_quarantine_make_a_healthy_domain(api: Api) -> None:
    answer = api.get(f"/senders/{sender(api, 'sales@good.test')}/dns")
    assert answer.status_code == 200, answer.text
    health = answer.json()
    assert health["verdict"] == "ok" and health["domain"] == "good.test"
    assert health["spf"]["ok"] and "_spf.google.com" in health["spf"]["record"]
    assert health["dkim"] == {"selectors": ["google"], "ok": True}
    assert health["dmarc"]["policy"] == "quarantine"
    assert health["dmarc"]["alignment"]["dkim"] == "s"
    assert health["mx"] == {"hosts": ["aspmx.l.google.com"], "ok": True}
    assert health["advice"] == []


def test_an_spf_open_to_all_and_policy_none_warn(api: Api) -> None:
    health = api.get(f"/senders/{sender(api, 'sales@lax.test')}/dns").json()
    assert health["verdict"] == "warn"
    assert health["dkim"]["selectors"] == ["s1"] and health["dmarc"]["policy"] == "none"
    assert "+all" in health["spf"]["detail"]


def test_a_domain_with_only_mx_fails_with_the_records_to_add(api: Api) -> None:
    health = api.get(f"/senders/{sender(api, 'sales@bare.test')}/dns").json()
    assert health["verdict"] == "fail"
    assert not (health["spf"]["ok"] or health["dkim"]["ok"] or health["dmarc"]["ok"])
    advice = " ".join(health["advice"])
    assert 'TXT record on bare.test with "v=spf1' in advice
    assert "_domainkey.bare.test" in advice
    assert 'TXT record on _dmarc.bare.test with "v=DMARC1; p=quarantine' in advice


def test_the_senders_own_selector_is_kept_and_tried(api: Api) -> None:
    sender_id = sender(api, "sales@lax.test", dkimSelector="custom")
    assert api.get(f"/senders/{sender_id}").json()["dkimSelector"] == "custom"
    changed = api.session.patch(f"{api.base_url}/senders/{sender_id}",
                                json={"dkimSelector": "s1"})
    assert changed.status_code == 200 and changed.json()["dkimSelector"] == "s1"
    assert api.get("/senders").json()["senders"][0]["dkimSelector"] == "s1"


def test_the_answer_is_kept_for_a_day_and_the_refresh_checks_new_senders(api: Api) -> None:
    first = sender(api, "sales@good.test")
    health = bootstrap.container().domain_health
    assert health.refresh_due() == 1  # the new sender, never checked
    assert health.refresh_due() == 0  # checked within the day
    kept = api.get(f"/senders/{first}/dns").json()
    assert api.get(f"/senders/{first}/dns").json()["checkedAt"] == kept["checkedAt"]


def test_a_bad_selector_and_another_users_sender_are_refused(api: Api) -> None:
    bad = api.post("/senders", {"email": "a@good.test", "dkimSelector": "a b"})
    assert bad.status_code == 400
    sender_id = sender(api, "sales@good.test")
    other = Api(api.base_url, "mallory@example.com")
    assert other.get(f"/senders/{sender_id}/dns").status_code == 404
