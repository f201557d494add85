"""Recipients refused before scheduling (services/recipient_checks.py) with fakes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from emailsched.adapters.disposable import is_disposable
from emailsched.domain.batch_content import prepare_content, without_refused
from emailsched.domain.recipient_domains import MailHost, Refusal, removed_counts, reserved
from emailsched.services.recipient_checks import RecipientChecks


class FakeLookup:
    def __init__(self, answers: dict[str, MailHost], configured: bool = False):
        self.answers, self.configured, self.asked = answers, configured, []

    def mail_hosts(self, domains: Sequence[str]) -> dict[str, MailHost]:
        self.asked.extend(domains)
        return {d: self.answers.get(d, MailHost.UNKNOWN) for d in domains}


class FakeCache:
    def __init__(self) -> None:
        self.stored: dict[str, MailHost] = {}

    def get_many(self, domains: Iterable[str]) -> dict[str, MailHost]:
        return {d: self.stored[d] for d in domains if d in self.stored}

    def put_many(self, answers: Mapping[str, MailHost]) -> None:
        self.stored.update(answers)


def test_each_domain_is_asked_once_and_refusals_are_by_position() -> None:
    lookup = FakeLookup({"good.io": MailHost.FOUND, "dead.io": MailHost.NONE})
    checks = RecipientChecks(is_disposable, lookup, FakeCache())
    checked = checks.check(["a@good.io", "b@dead.io", "c@Good.io", "d@mailinator.com",
                            "e@dead.io"])
    assert checked.refused == {1: Refusal.NO_MX, 3: Refusal.DISPOSABLE, 4: Refusal.NO_MX}
    assert sorted(lookup.asked) == ["dead.io", "good.io"]  # not the disposable one


def test_answers_are_cached_but_unknown_ones_are_not() -> None:
    cache = FakeCache()
    lookup = FakeLookup({"good.io": MailHost.FOUND})
    checks = RecipientChecks(is_disposable, lookup, cache)
    first = checks.check(["a@good.io", "b@slow.io"])
    assert first.refused == {} and first.unknown_domains == 1
    assert cache.stored == {"good.io": MailHost.FOUND}
    lookup.asked.clear()
    checks.check(["a@good.io", "b@slow.io"])
    assert lookup.asked == ["slow.io"]


def test_reserved_names_are_not_looked_up_without_servers_of_our_own() -> None:
    lookup = FakeLookup({})
    RecipientChecks(is_disposable, lookup, None).check(["a@example.com", "b@x.test"])
    assert lookup.asked == []
    configured = FakeLookup({}, configured=True)
    RecipientChecks(is_disposable, configured, None).check(["b@x.test"])
    assert configured.asked == ["x.test"]


def test_without_lookups_only_the_disposable_list_refuses() -> None:
    checked = RecipientChecks(is_disposable, None, None).check(["a@nowhere.io",
                                                                "b@sub.mailinator.com"])
    assert checked.refused == {1: Refusal.DISPOSABLE}


def test_refused_recipients_leave_the_content_with_their_fields() -> None:
    content = prepare_content("Hi {{name}}", "b", [{"email": "a@x.io", "fields": {"name": "A"}},
                                                   {"email": "b@y.io", "fields": {"name": "B"}}])
    kept = without_refused(content, {0})
    assert kept.addresses == ["b@y.io"] and kept.fields == [{"name": "B"}]


def test_counts_name_every_reason() -> None:
    assert removed_counts([Refusal.NO_MX]) == {"no_mx": 1, "disposable": 0}
    assert reserved("mail.example.com") and reserved("a.test") and not reserved("x.com")
