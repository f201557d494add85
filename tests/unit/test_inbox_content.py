"""What the inbox keeps of an inbound message (domain/inbox/content.py) and the lead
status rules (domain/inbox/leads.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.message import EmailMessage

from emailsched.domain.inbox.content import read_content, sanitise_html
from emailsched.domain.inbox.leads import LeadStatus, ends_conversation, poller_change, resume_at
from emailsched.domain.sending_window import SendingWindow

HOSTILE = ('<p onclick="steal()">Hi <b>there</b></p><script>alert(1)</script>'
           '<img src="https://track.example/p.gif" onerror="alert(2)">'
           '<a href="javascript:alert(3)">x</a><a href="https://ok.example/">ok</a>'
           '<form action="https://evil.example/"><input name="pw"></form>'
           '<div style="color: red; background-image: url(https://t.example/b.png)">c</div>'
           '<iframe src="https://evil.example/"></iframe><img src="data:image/png;base64,AA==">')


def test_html_is_sanitised_and_remote_images_wait() -> None:
    clean = sanitise_html(HOSTILE)
    for gone in ("<script", "alert(1)", "onclick", "onerror", "javascript:", "<form", "<input",
                 "<iframe", "url(", ' src="https://track'):
        assert gone not in clean, gone
    assert '<b>there</b>' in clean
    assert 'data-remote-src="https://track.example/p.gif"' in clean
    assert 'href="https://ok.example/"' in clean and "color:red" in clean.replace(" ", "")
    assert 'src="data:image/png;base64,AA=="' in clean


def test_read_content_keeps_text_html_headers_and_attachment_list() -> None:
    message = EmailMessage()
    message["From"] = "Lead <lead@them.example>"
    message["To"] = "me@us.example"
    message["Subject"] = "Re: Hello"
    message["Message-ID"] = "<r1@them.example>"
    message["In-Reply-To"] = "<e1@us.example>"
    message["X-Other"] = "dropped"
    message.set_content("Plain answer")
    message.add_alternative(HOSTILE, subtype="html")
    message.add_attachment(b"%PDF-1.4 0123456789", maintype="application", subtype="pdf",
                           filename="deck.pdf")
    content = read_content(message.as_bytes())
    assert content.text.strip() == "Plain answer"
    assert content.html is not None and "<script" not in content.html
    assert content.headers == {"From": "Lead <lead@them.example>", "To": "me@us.example",
                               "Subject": "Re: Hello", "Message-ID": "<r1@them.example>",
                               "In-Reply-To": "<e1@us.example>"}
    [attachment] = content.attachments
    assert (attachment.name, attachment.size, attachment.content_type) == \
        ("deck.pdf", 19, "application/pdf")


def test_html_only_message_gets_a_text() -> None:
    message = EmailMessage()
    message["Subject"] = "Re: x"
    message.set_content("<p>Hello <b>you</b></p>", subtype="html")
    content = read_content(message.as_bytes())
    assert "Hello you" in content.text and (content.html or "").strip() == "<p>Hello <b>you</b></p>"


def test_poller_never_overrides_the_user_but_bounces_and_removals_win() -> None:
    assert poller_change(LeadStatus.NEW, LeadStatus.REPLIED) is LeadStatus.REPLIED
    assert poller_change(LeadStatus.OUT_OF_OFFICE, LeadStatus.REPLIED) is LeadStatus.REPLIED
    assert poller_change(LeadStatus.REPLIED, LeadStatus.REPLIED) is None
    assert poller_change(LeadStatus.INTERESTED, LeadStatus.REPLIED) is None
    assert poller_change(LeadStatus.INTERESTED, LeadStatus.UNSUBSCRIBED) \
        is LeadStatus.UNSUBSCRIBED
    assert poller_change(LeadStatus.UNSUBSCRIBED, LeadStatus.REPLIED) is None
    assert not ends_conversation(LeadStatus.OUT_OF_OFFICE)
    assert ends_conversation(LeadStatus.NOT_INTERESTED)


def test_resume_is_the_morning_after_inside_the_window() -> None:
    assert resume_at(date(2027, 1, 4), None) == datetime(2027, 1, 5, 9, tzinfo=UTC)
    weekdays = SendingWindow.from_api({"timezone": "Europe/Berlin", "days": ["mon", "tue"],
                                       "start": "10:00", "end": "17:00"})
    # Back on Friday 8 January: Saturday 09:00 is shut; Monday 11 January 10:00 Berlin.
    assert resume_at(date(2027, 1, 8), weekdays) == datetime(2027, 1, 11, 9, tzinfo=UTC)
