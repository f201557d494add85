"""The capture inbox's web view: its HTTP server, the list of messages and one message.

Everything from a message is escaped; its HTML part is shown only inside a sandboxed
iframe (no scripts, no same-origin access), and the pages carry a Content-Security-Policy.
"""

from __future__ import annotations

import email.policy
import re
from collections.abc import Sequence
from email.message import EmailMessage, Message, MIMEPart
from email.parser import BytesParser, HeaderParser
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from emailsched.local.inbox import CapturedMessage, MessageStore

# Pages are ours; the iframe's srcdoc inherits this policy, so mail HTML cannot run
# scripts or be framed elsewhere even if the sandbox attribute were lost.
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; "
                           "img-src data: http: https:; frame-src 'self'; "
                           "frame-ancestors 'self'")
LIST_LIMIT = 500
_MESSAGE_PAGE = re.compile(r"/messages/(\d+)(\.eml)?")
_ANSWER = re.compile(r"/messages/(\d+)/(reply|bounce)")

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;
 background:#f5f6f8;color:#1f2330}
header{background:#1f2330;color:#fff;padding:12px 24px;display:flex;gap:16px;
 align-items:baseline}
header h1{font-size:18px;margin:0}header a{color:#9cc3ff}
main{max-width:1100px;margin:20px auto;padding:0 16px}
table{width:100%;border-collapse:collapse;background:#fff;border-radius:8px;overflow:hidden;
 box-shadow:0 1px 3px rgba(0,0,0,.08)}
th,td{padding:8px 12px;border-bottom:1px solid #eceef2;text-align:left;vertical-align:top;
 word-break:break-word}
th{background:#fafbfc;font-weight:600;color:#555}
tr:hover td{background:#f0f5ff}td a{color:#1a56db;text-decoration:none}
.muted{color:#777}.time{white-space:nowrap;color:#555}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08);
 margin-bottom:16px;padding:12px 16px}
section h2{font-size:15px;margin:0 0 8px}
pre{white-space:pre-wrap;word-break:break-word;margin:0;font:13px/1.45 ui-monospace,monospace}
iframe{width:100%;height:480px;border:1px solid #eceef2;border-radius:4px;background:#fff}
"""


class InboxHttpServer(ThreadingHTTPServer):
    """Serves a MessageStore: `GET /`, `/messages.json`, `/messages/<n>`, `/messages/<n>.eml`."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], store: MessageStore,
                 reply_maildir: Path | None = None):
        super().__init__(address, _InboxRequestHandler)
        self.store = store
        self.reply_maildir = reply_maildir  # where Reply and Bounce write (None: no buttons)


class _InboxRequestHandler(BaseHTTPRequestHandler):
    server_version = "emailsched-inbox"
    protocol_version = "HTTP/1.1"  # keep-alive for pollers of messages.json

    def do_POST(self) -> None:
        """`POST /messages/<n>/reply` or `/bounce`: answer a captured message as its
        recipient (into the sender's dev Maildir), then back to its page."""
        server = cast(InboxHttpServer, self.server)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 65536))
        match = _ANSWER.fullmatch(urlsplit(self.path).path)
        found = server.store.get(int(match[1])) if match else None
        if match is None or found is None or server.reply_maildir is None:
            self._send(404, "text/plain; charset=utf-8", b"not found\n")
            return
        from emailsched.local.inbound_samples import deliver

        deliver(server.reply_maildir, found[1], match[2])
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", f"/messages/{match[1]}?done={match[2]}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        server = cast(InboxHttpServer, self.server)
        store = server.store
        parts = urlsplit(self.path)
        path = parts.path
        if path in ("/", "/index.html"):
            self._send(200, "text/html; charset=utf-8", render_list(store.all()).encode())
        elif path == "/messages.json":
            self._send(200, "application/json", store.messages_json())
        elif (match := _MESSAGE_PAGE.fullmatch(path)) and (found := store.get(int(match[1]))):
            message, raw = found
            if match[2]:
                self._send(200, "message/rfc822", raw)
            else:
                done = parse_qs(parts.query).get("done", [""])[0]
                self._send(200, "text/html; charset=utf-8",
                           render_message(message, raw, server.reply_maildir is not None,
                                          done).encode())
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found\n")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(HTTPStatus(status))
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per poll would drown the dev console


def header_block(raw: bytes) -> str:
    """The header block of a raw message as text, decoded as UTF-8 because SMTPUTF8
    messages carry raw UTF-8 headers (classic ones are ASCII with encoded words)."""
    end = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0),
              default=len(raw))
    return raw[:end].decode("utf-8", errors="replace")


def read_headers(raw: bytes) -> Message:
    """The headers of a raw message, parsed with the modern policy (decoded values)."""
    return HeaderParser(policy=email.policy.default).parsestr(header_block(raw))


def header_items(headers: Message) -> list[tuple[str, str]]:
    """Every header in order, decoded where possible."""
    try:
        return [(name, " ".join(str(value).split())) for name, value in headers.items()]
    except Exception:  # the header parser fails on some hostile input; the page must not
        return [(name, " ".join(raw.split())) for name, raw in headers.raw_items()]


def render_list(messages: Sequence[CapturedMessage]) -> str:
    """The inbox page: the newest LIST_LIMIT messages, newest first."""
    shown = list(reversed(messages[-LIST_LIMIT:]))
    rows = "".join(_row(message) for message in shown)
    note = (f"showing the newest {len(shown)} of {len(messages)}" if len(messages) > len(shown)
            else f"{len(messages)} message{'' if len(messages) == 1 else 's'}")
    table = ("<table><thead><tr><th>From</th><th>To</th><th>Subject</th><th>Received</th>"
             f"</tr></thead><tbody>{rows}</tbody></table>" if shown
             else '<p class="muted">No messages yet. Send mail to the SMTP port.</p>')
    return _page("Inbox", f'<p class="muted">{escape(note)}</p>{table}',
                 extra_head='<meta http-equiv="refresh" content="5">')


def _row(message: CapturedMessage) -> str:
    link = f'<a href="/messages/{message.number}">{escape(message.subject or "(no subject)")}</a>'
    return (f"<tr><td>{escape(message.mail_from)}</td><td>{escape(', '.join(message.to))}</td>"
            f'<td>{link}</td><td class="time">{escape(_when(message.received_at))}</td></tr>')


def render_message(message: CapturedMessage, raw: bytes, can_answer: bool = False,
                   done: str = "") -> str:
    """One message: envelope, headers, text part, HTML part (sandboxed), attachments; with
    `can_answer`, "Reply" and "Bounce" buttons (Sequences: they write into the sender's
    dev Maildir, which the reply poller reads)."""
    headers = read_headers(raw)
    parsed = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)  # policy.default builds EmailMessage
    summary = _table([("From (envelope)", message.mail_from), ("To (envelope)",
                      ", ".join(message.to)), ("Subject", message.subject),
                      ("Message-ID", message.message_id),
                      ("Received", _when(message.received_at))])
    header_rows = _table(header_items(headers))
    body = (f"{_answer_section(message.number, done) if can_answer else ''}"
            f"<section>{summary}</section>"
            f"<section><details><summary>All headers</summary>{header_rows}</details></section>"
            f"{_text_section(parsed)}{_html_section(parsed)}{_attachments_section(parsed)}"
            f'<p><a href="/messages/{message.number}.eml">Download .eml</a> · '
            '<a href="/">Back to inbox</a></p>')
    return _page(message.subject or "(no subject)", body)


_DONE = {"reply": "A reply from the recipient was put in the sender's mailbox.",
         "bounce": "A delivery status report (hard bounce, 5.1.1) was put in the sender's "
                   "mailbox."}


def _answer_section(number: int, done: str) -> str:
    note = _DONE.get(done, "")
    said = (f'<p class="muted">{escape(note)} The reply poller reads it within a few seconds; '
            "the recipient's follow-ups stop.</p>") if note else ""
    buttons = "".join(
        f'<form method="post" action="/messages/{number}/{kind}" style="display:inline">'
        f'<button type="submit">{label}</button></form> '
        for kind, label in (("reply", "Reply"), ("bounce", "Bounce")))
    return (f"<section><h2>Answer as the recipient</h2>{buttons}"
            '<span class="muted">Reply: a reply with In-Reply-To and References of this '
            "message. Bounce: an RFC 3464 delivery status report for it.</span>"
            f"{said}</section>")


def _text_section(parsed: EmailMessage) -> str:
    text = _content(parsed.get_body(preferencelist=("plain",)))
    if text is None:
        return ""
    return f"<section><h2>Text</h2><pre>{escape(text)}</pre></section>"


def _html_section(parsed: EmailMessage) -> str:
    markup = _content(parsed.get_body(preferencelist=("html",)))
    if markup is None:
        return ""
    # An empty sandbox: no scripts, forms, popups or same-origin access.
    frame = f'<iframe sandbox="" referrerpolicy="no-referrer" srcdoc="{escape(markup)}"></iframe>'
    return f"<section><h2>HTML</h2>{frame}</section>"


def _attachments_section(parsed: EmailMessage) -> str:
    names = [part.get_filename() or part.get_content_type() for part in parsed.iter_attachments()]
    if not names:
        return ""
    items = "".join(f"<li>{escape(name)}</li>" for name in names)
    return f"<section><h2>Attachments</h2><ul>{items}</ul></section>"


def _content(part: MIMEPart | None) -> str | None:
    if part is None:
        return None
    try:
        content = part.get_content()
        return content if isinstance(content, str) else None
    except (LookupError, ValueError, KeyError):  # unknown charset or a broken part
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else None


def _table(rows: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><th>{escape(name)}</th><td>{escape(value)}</td></tr>"
                    for name, value in rows)
    return f"<table>{cells}</table>"


def _when(received_at: str) -> str:
    return received_at.replace("T", " ").replace("+00:00", " UTC")


def _page(title: str, body: str, extra_head: str = "") -> str:
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            '<meta name=viewport content="width=device-width,initial-scale=1">'
            f"{extra_head}<title>{escape(title)} · emailsched inbox</title>"
            f"<style>{_STYLE}</style></head><body><header><h1>emailsched inbox</h1>"
            '<a href="/">all messages</a><a href="/messages.json">messages.json</a></header>'
            f"<main>{body}</main></body></html>")
