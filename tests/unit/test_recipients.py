"""Recipient lists: every address checked, normalised, duplicates dropped in order."""

import pytest

from emailsched.domain.recipients import clean_recipients, normalise_address

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("raw, expected", [
    ("a@example.com", "a@example.com"),
    ("  Alice.Smith+tag@Example.COM ", "Alice.Smith+tag@example.com"),
    ("用户@例子.广告", "用户@例子.广告"),
    ("josé@bücher.de", "josé@bücher.de"),
    ("x@xn--bcher-kva.de", "x@xn--bcher-kva.de"),
])
def test_valid_addresses_are_normalised(raw, expected):
    assert normalise_address(raw) == expected


@pytest.mark.parametrize("raw", [
    "", "plainaddress", "@example.com", "a@", "a@b", "a..b@example.com", "a@example..com",
    "a b@example.com", "a@example.com\r\nBcc: victim@example.com", "a\0@example.com",
    "a@-example.com", "x" * 65 + "@example.com", "a@" + "b" * 250 + ".com",
    "<script>@example.com",
])
def test_invalid_addresses_are_refused_with_a_reason(raw):
    with pytest.raises(ValueError) as caught:
        normalise_address(raw)
    assert str(caught.value)


def test_duplicates_are_dropped_case_insensitively_keeping_the_first():
    result = clean_recipients(["a@x.com", "B@x.com", "A@X.com", "b@x.com", "c@x.com"])
    assert result.addresses == ["a@x.com", "B@x.com", "c@x.com"]
    assert result.duplicates_removed == 2
    assert result.invalid == []


def test_each_invalid_entry_is_named_by_its_position():
    result = clean_recipients(["ok@x.com", "nope", "also@ok.com", "bad@"])
    assert [d["field"] for d in result.invalid] == ["recipients[1]", "recipients[3]"]
    assert result.addresses == ["ok@x.com", "also@ok.com"]
