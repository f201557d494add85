"""normalise_address's fast path (one compiled pattern for plain ASCII addresses) gives the
same answers as email-validator, which it skips: generated addresses through both.

One deliberate difference is left out: an A-label domain (`xn--...`) is kept as given by
the fast path (tests/unit/test_recipients.py), where email-validator turns it to Unicode."""

from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis")
from email_validator import EmailNotValidError, validate_email  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from emailsched.domain.recipients import _PLAIN_ADDRESS, normalise_address  # noqa: E402

_ATOM_CHARS = "abcXYZ0129!#$%&'*+/=?^_`{|}~-"
_LABEL_CHARS = "abcXYZ019-"
atoms = st.text(_ATOM_CHARS, min_size=1, max_size=12)
local_parts = st.lists(atoms, min_size=1, max_size=4).map(".".join)
labels = st.text(_LABEL_CHARS, min_size=1, max_size=14)
tlds = st.sampled_from(["com", "ORG", "de", "io", "museum", "co"])
domains = st.builds(lambda ls, tld: ".".join([*ls, tld]), st.lists(labels, min_size=1,
                                                                   max_size=3), tlds)
# also near misses the pattern must not take: dots, @, spaces, quotes
noise = st.sampled_from(["", ".", "..", "@", " ", '"', "(", "a..b", "-", "_"])
addresses = st.one_of(st.builds(lambda lp, d: f"{lp}@{d}", local_parts, domains),
                      st.builds(lambda lp, n, d: f"{lp}{n}@{d}", local_parts, noise, domains),
                      st.builds(lambda lp, n, d: f"{lp}@{n}{d}", local_parts, noise, domains))


def _validator(address: str) -> str | None:
    try:
        return validate_email(address, check_deliverability=False,
                              allow_smtputf8=True).normalized
    except EmailNotValidError:
        return None


def _ours(address: str) -> str | None:
    try:
        return normalise_address(address)
    except ValueError:
        return None


@settings(max_examples=3000, deadline=None)
@given(addresses)
def test_the_fast_path_answers_as_email_validator(address: str) -> None:
    if _PLAIN_ADDRESS.match(address) is None:
        return  # not the fast path: email-validator answers it itself
    assert _ours(address) == _validator(address)
