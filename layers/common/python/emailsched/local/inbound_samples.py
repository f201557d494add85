"""What the capture inbox's "Reply" and "Bounce" buttons write into the sender's dev Maildir:
a person's reply (In-Reply-To and References of the captured message, `Re:` subject) or an
RFC 3464 delivery status report (a hard bounce, 5.1.1, with the message's headers
returned). The reply poller reads them through the same MailboxReader port, parsing and
matching code as a real mailbox's messages."""

from __future__ import annotations

import email.policy
import email.utils
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path

from emailsched.adapters.mailboxes import deliver_to_maildir, maildir_for


def _headers(raw: bytes) -> EmailMessage:
    parsed = BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _address(value: object) -> str:
    return email.utils.parseaddr(str(value or ""))[1]


def reply_to(raw: bytes, text: str = "Thanks, I'm interested. Can we talk next week?") -> bytes:
    """A person's reply to a captured message, from its recipient to its sender."""
    original = _headers(raw)
    reply = EmailMessage()
    message_id = str(original.get("Message-ID", "")).strip()
    references = " ".join(part for part in (str(original.get("References", "")).strip(),
                                            message_id) if part)
    subject = str(original.get("Subject", ""))
    reply["From"] = str(original.get("To", ""))
    reply["To"] = str(original.get("From", ""))
    reply["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    reply["Date"] = email.utils.formatdate(localtime=False)
    reply["Message-ID"] = email.utils.make_msgid(domain="reply.emailsched.invalid")
    if message_id:
        reply["In-Reply-To"] = message_id
        reply["References"] = references
    reply.set_content(f"{text}\n\nOn an earlier day, {original.get('From', '')} wrote:\n> ...\n")
    return reply.as_bytes(policy=email.policy.SMTP)


def bounce_for(raw: bytes, status: str = "5.1.1",
               diagnostic: str = "smtp; 550 5.1.1 The email account does not exist") -> bytes:
    """A mailer-daemon's delivery status report saying the message's recipient failed."""
    original = _headers(raw)
    recipient = _address(original.get("To"))
    sender = _address(original.get("From"))
    end = raw.find(b"\r\n\r\n")
    returned = raw[:end if end >= 0 else len(raw)].decode("utf-8", "replace")
    boundary = "=_dsn_" + email.utils.make_msgid().strip("<>").split("@")[0]
    message_id = email.utils.make_msgid(domain="dsn.emailsched.invalid")
    text = (
        "From: Mail Delivery System <mailer-daemon@dev.emailsched.invalid>\r\n"
        f"To: {sender}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {email.utils.formatdate(localtime=False)}\r\n"
        f"Message-ID: {message_id}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"'
        "\r\n\r\n"
        f"--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"Your message to {recipient} could not be delivered.\r\n\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; dev.emailsched.invalid\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: {diagnostic}\r\n\r\n"
        f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"{returned}\r\n\r\n"
        f"--{boundary}--\r\n")
    return text.encode("utf-8")


def deliver(root: Path, raw: bytes, kind: str) -> tuple[str, int]:
    """Write a reply or a bounce for a captured message into its sender's Maildir; the
    sender address and the UID it got."""
    sender = _address(_headers(raw).get("From"))
    produced = reply_to(raw) if kind == "reply" else bounce_for(raw)
    return sender, deliver_to_maildir(maildir_for(root, sender), produced)
