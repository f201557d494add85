"""A sender domain's SPF, DKIM and DMARC judged (domain/domain_health.py)."""

from __future__ import annotations

from emailsched.domain.domain_health import (
    DomainRecords,
    parse_dmarc,
    parse_spf,
    provider_of,
    report,
    selectors_to_try,
)

GOOD = DomainRecords("acme.io", txt=["v=spf1 include:_spf.google.com ~all", "other=1"],
                     dmarc_txt=["v=DMARC1; p=quarantine; adkim=s; rua=mailto:d@acme.io"],
                     dkim_selectors=["google"], mx_hosts=["aspmx.l.google.com"])


def test_a_single_spf_record_with_the_providers_include_is_ok() -> None:
    spf = parse_spf(GOOD.txt, "google")
    assert (spf.record, spf.ok) == ("v=spf1 include:_spf.google.com ~all", True)


def test_spf_without_the_providers_include_is_flagged() -> None:
    spf = parse_spf(["v=spf1 mx ~all"], "microsoft")
    assert not spf.ok and "spf.protection.outlook.com" in spf.detail


def test_spf_open_to_all_is_flagged() -> None:
    spf = parse_spf(["v=spf1 a mx +all"])
    assert spf.open_to_all and not spf.ok and "+all" in spf.detail


def test_two_spf_records_are_broken() -> None:
    spf = parse_spf(["v=spf1 mx ~all", "v=spf1 a -all"])
    assert spf.broken and not spf.ok


def test_no_spf_record() -> None:
    assert parse_spf(["google-site-verification=x"]).record is None


def test_dmarc_policy_and_alignment_tags_are_read() -> None:
    dmarc = parse_dmarc(["v=DMARC1;p=reject; aspf=s ;adkim=r"])
    assert (dmarc.policy, dmarc.ok, dmarc.tags["aspf"], dmarc.tags["adkim"]) == (
        "reject", True, "s", "r")


def test_dmarc_without_a_policy_is_not_ok() -> None:
    assert not parse_dmarc(["v=DMARC1; rua=mailto:x@y.z"]).ok
    assert parse_dmarc([]).record is None


def test_the_provider_comes_from_the_kind_else_the_mx() -> None:
    assert provider_of("microsoft", []) == "microsoft"
    assert provider_of("smtp", ["ASPMX.L.GOOGLE.COM."]) == "google"
    assert provider_of(None, ["acme-io.mail.protection.outlook.com"]) == "microsoft"
    assert provider_of(None, ["mx.acme.io"]) is None


def test_the_senders_own_selector_is_tried_first_and_once() -> None:
    assert selectors_to_try(" Brevo ")[:2] == ["brevo", "google"]
    assert selectors_to_try("google").count("google") == 1
    assert selectors_to_try(None)[0] == "google"


def test_spf_dkim_and_quarantine_is_ok_without_advice() -> None:
    answer = report(GOOD, "smtp", "2026-12-07T00:00:00Z")
    assert answer["verdict"] == "ok" and answer["advice"] == []
    assert answer["dkim"] == {"selectors": ["google"], "ok": True}
    assert answer["dmarc"]["policy"] == "quarantine"
    assert answer["dmarc"]["alignment"] == {"dkim": "s", "spf": "r"}


def test_open_spf_and_policy_none_warn() -> None:
    records = DomainRecords("acme.io", txt=["v=spf1 +all"], dmarc_txt=["v=DMARC1; p=none"],
                            dkim_selectors=["s1"], mx_hosts=["mx.acme.io"])
    answer = report(records, None, "t")
    assert answer["verdict"] == "warn"
    assert any("p=none" in tip for tip in answer["advice"])
    assert any("+all" in tip for tip in answer["advice"])


def test_only_mx_fails_with_the_records_to_add() -> None:
    answer = report(DomainRecords("acme.io", mx_hosts=["mx.acme.io"]), None, "t")
    assert answer["verdict"] == "fail"
    advice = " ".join(answer["advice"])
    assert 'TXT record on acme.io with "v=spf1 mx ~all"' in advice
    assert "_domainkey.acme.io" in advice
    assert 'TXT record on _dmarc.acme.io with "v=DMARC1; p=quarantine' in advice


def test_a_missing_piece_fails_even_when_the_others_are_fine() -> None:
    for missing in ({"txt": []}, {"dmarc_txt": []}, {"dkim_selectors": []}):
        records = DomainRecords(**{**GOOD.__dict__, **missing})
        assert report(records, "google", "t")["verdict"] == "fail", missing


def test_an_example_domain_is_judged_without_lookups_when_no_servers_are_ours() -> None:
    import uuid
    from datetime import UTC, datetime

    from emailsched.services.domain_health import DomainHealth, DomainTarget

    class NoLookups:
        def txt(self, name: str) -> list[str] | None:
            raise AssertionError(f"looked up {name}")

        def mx(self, domain: str) -> list[str] | None:
            raise AssertionError(f"looked up {domain}")

    class Clock:
        def now(self) -> datetime:
            return datetime(2026, 12, 7, tzinfo=UTC)

    health = DomainHealth(None, NoLookups(), Clock(), skip_reserved=True)  # type: ignore[arg-type]
    answer = health.check(DomainTarget(uuid.uuid4(), "me@example.com", "relay", None, None))
    assert answer["verdict"] == "fail" and "RFC 2606" in answer["advice"][0]
