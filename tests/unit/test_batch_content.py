"""A batch's content is checked whole before anything is stored."""

from __future__ import annotations

import pytest

from emailsched.domain.batch_content import prepare_content, without_suppressed
from emailsched.errors import InvalidRequest

pytestmark = pytest.mark.unit


def test_plain_addresses_keep_the_fast_path_and_store_no_fields():
    content = prepare_content("Hi", "<p>Hi {{ email }}</p>", ["a@x.com", "A@x.com", "b@x.com"])
    assert content.addresses == ["a@x.com", "b@x.com"] and content.fields is None
    assert content.duplicates_removed == 1


def test_fields_are_kept_per_recipient_in_order():
    content = prepare_content("Hi {{ name | default('you') }}", "<p>x</p>", [
        {"email": "a@x.com", "fields": {"name": "Ann", "n": 3}}, "b@x.com"])
    assert content.fields == [{"name": "Ann", "n": "3"}, {}]


def test_a_field_used_without_default_must_be_given_to_every_recipient():
    with pytest.raises(InvalidRequest) as raised:
        prepare_content("Hi", "<p>{{ name }}</p>", [{"email": "a@x.com",
                                                     "fields": {"name": "A"}}, "b@x.com"])
    assert raised.value.details[0]["field"] == "recipients[1]"


def test_a_template_that_does_not_parse_names_its_position():
    with pytest.raises(InvalidRequest) as raised:
        prepare_content("Hi {{", "<p>x</p>", ["a@x.com"])
    assert raised.value.details[0]["field"] == "subject"


def test_a_bad_entry_names_its_position():
    with pytest.raises(InvalidRequest) as raised:
        prepare_content("Hi", "<p>x</p>", ["a@x.com", {"email": "b@x.com", "fields": {"1x": "y"}}])
    assert raised.value.details[0]["field"] == "recipients[1]"


def test_suppressed_addresses_are_dropped_and_counted_and_none_left_is_refused():
    content = prepare_content("Hi", "<p>x</p>", [{"email": "A@x.com", "fields": {"k": "1"}},
                                                 {"email": "b@x.com", "fields": {"k": "2"}}])
    kept = without_suppressed(content, {"a@x.com"})
    assert (kept.addresses, kept.fields, kept.suppressed_removed) == (
        ["b@x.com"], [{"k": "2"}], 1)
    with pytest.raises(InvalidRequest):
        without_suppressed(content, {"a@x.com", "b@x.com"})
