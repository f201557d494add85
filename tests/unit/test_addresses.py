"""International addresses for strict receivers: A-label domains everywhere, SMTPUTF8 only
for non-ASCII local parts and only where offered, encoded display names."""

from __future__ import annotations

import email
import email.policy
import uuid
from email.message import EmailMessage

import pytest

from emailsched.domain.addresses import (
    InvalidDomain,
    NeedsSmtpUtf8,
    ascii_domain,
    envelope_address,
    header_address,
    message_id,
    needs_smtputf8,
)

pytestmark = pytest.mark.unit
EMAIL_ID = uuid.UUID("1f0e7c4e-1111-4222-8333-444455556666")


@pytest.mark.parametrize("offered", [False, True])
def test_an_idn_domain_goes_out_as_its_a_label(offered):
    assert envelope_address("lead@bücher.de", offered) == "lead@xn--bcher-kva.de"


@pytest.mark.parametrize("domain, a_label", [
    ("bücher.de", "xn--bcher-kva.de"), ("BÜCHER.DE", "xn--bcher-kva.de"),
    ("例子.广告", "xn--fsqu00a.xn--4rr70v"), ("faß.de", "xn--fa-hia.de"),
    ("Example.COM", "example.com"), ("xn--bcher-kva.de", "xn--bcher-kva.de"),
])
def test_domains_are_mapped_and_encoded_by_uts46_idna_2008(domain, a_label):
    assert ascii_domain(domain) == a_label


def test_an_invalid_idn_domain_is_refused():
    with pytest.raises(InvalidDomain):
        ascii_domain("bü\u200bcher..de")


def test_a_non_ascii_local_part_needs_smtputf8_and_fails_clearly_without_it():
    assert needs_smtputf8("ü@example.com") and not needs_smtputf8("lead@bücher.de")
    with pytest.raises(NeedsSmtpUtf8, match="SMTPUTF8"):
        envelope_address("ü@example.com", smtputf8_offered=False)
    assert envelope_address("ü@bücher.de", smtputf8_offered=True) == "ü@xn--bcher-kva.de"


def test_a_non_ascii_display_name_is_rfc_2047_encoded_and_the_domain_a_labelled():
    value = header_address("Jörg Müller", "lead@bücher.de")
    assert value.isascii()
    assert value.endswith(" <lead@xn--bcher-kva.de>") and value.startswith("=?utf-8?")


def test_an_ascii_display_name_with_specials_is_quoted_and_line_breaks_folded():
    assert header_address('Ann "A", Sales', "a@x.com") == '"Ann \\"A\\", Sales" <a@x.com>'
    assert header_address("Ann\r\nBcc: v@x.com", "a@x.com") == '"Ann Bcc: v@x.com" <a@x.com>'
    assert header_address(None, "a@x.com") == "a@x.com"


def test_a_non_ascii_local_part_in_a_header_needs_smtputf8():
    with pytest.raises(NeedsSmtpUtf8):
        header_address("Zoë", "ü@example.com")
    assert header_address("Zoë", "ü@example.com", smtputf8=True) == '"Zoë" <ü@example.com>'


def test_the_message_id_names_the_email_on_the_a_label_domain():
    assert message_id(EMAIL_ID, "Bücher.de") == f"<{EMAIL_ID}@xn--bcher-kva.de>"


def test_a_composed_international_message_parses_in_strict_policy():
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = header_address("Jörg Müller", "sales@bücher.de")
    message["To"] = header_address("Zoë O'Brien", "lead@bücher.de")
    message["Subject"] = "Grüße ✓"
    message["Message-ID"] = message_id(EMAIL_ID, "bücher.de")
    message["Date"] = "Mon, 03 Mar 2026 10:00:00 +0000"
    message.set_content("Hallo")
    message.add_alternative("<p>Hallo</p>", subtype="html")
    raw = message.as_bytes()
    assert raw.isascii()
    parsed = email.message_from_bytes(raw, policy=email.policy.strict)
    assert parsed["From"].addresses[0].display_name == "Jörg Müller"
    assert parsed["From"].addresses[0].domain == "xn--bcher-kva.de"
    assert parsed["To"].addresses[0].display_name == "Zoë O'Brien"
    assert parsed["Subject"] == "Grüße ✓"
    assert parsed.get_all("Message-ID") == [f"<{EMAIL_ID}@xn--bcher-kva.de>"]
    assert parsed.get_content_type() == "multipart/alternative"
