"""The named table of hostile inputs to POST /emails/schedule, and the valid-but-odd ones.

Each `Hostile` must get its 4xx (naming the bad field where there is one) and store
nothing. Each `Odd` must be accepted and sent, correctly encoded.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

INJECTION = "\r\nBcc: victim@example.com"


def valid(**changes: Any) -> dict[str, Any]:
    """A valid request an hour ahead, with `changes` (`sender_email` sets sender.email)."""
    request: dict[str, Any] = {
        "subject": "Hello", "body": "<p>Hello</p>", "recipients": ["to@example.com"],
        "startTime": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "delayMs": 0, "hourlyLimit": 100, "sender": {"email": "hostile@example.com",
                                                     "name": "Sales"}}
    for key, value in changes.items():
        if key.startswith("sender_"):
            request["sender"][key.removeprefix("sender_")] = value
        else:
            request[key] = value
    return request


def body_of(request: dict[str, Any]) -> bytes:
    return json.dumps(request).encode()


@dataclass(frozen=True)
class Hostile:
    name: str
    body: bytes
    status: int = 400
    field: str | None = None  # what `details` must name
    content_type: str = "application/json"


def _with(path: str, value: str) -> dict[str, Any]:
    """valid() with the text field at `path` (subject, sender.name, recipients[0], ...)."""
    request = valid()
    if path == "recipients[0]":
        request["recipients"] = [value]
    elif path.startswith("sender."):
        request["sender"][path.removeprefix("sender.")] = value
    else:
        request[path] = value
    return request


def _text_field_cases() -> list[Hostile]:
    """CR/LF and NUL in every text field (CR/LF is fine in the body: it is HTML)."""
    fields = {"subject": "Hello", "sender.email": "hostile@example.com",
              "sender.name": "Sales", "recipients[0]": "to@example.com",
              "startTime": valid()["startTime"]}
    cases = []
    for path, good in fields.items():
        cases.append(Hostile(f"CR/LF in {path}", body_of(_with(path, good + INJECTION)),
                             field=path))
        cases.append(Hostile(f"NUL in {path}", body_of(_with(path, good + "\x00x")),
                             field=path))
    cases.append(Hostile("NUL in body", body_of(valid(body="<p>a\x00b</p>")), field="body"))
    return cases


def _duplicate_keys() -> bytes:
    text = json.dumps(valid())
    return text.replace('"subject": "Hello"', '"subject": "Hello", "subject": "Bye"').encode()


HOSTILE: list[Hostile] = [
    Hostile("huge body (1,000,001 bytes)", body_of(valid(body="x" * 1_000_001)), 413, "body"),
    Hostile("request over 10 MB", body_of(valid(body="x" * (10 * 1024 * 1024 + 1))), 413),
    Hostile("100,001 recipients", body_of(valid(
        recipients=[f"r{i}@example.com" for i in range(100_001)])), 413, "recipients"),
    *_text_field_cases(),
    Hostile("startTime in 1970", body_of(valid(startTime="1970-01-01T00:00:00Z")),
            field="startTime"),
    Hostile("startTime in year 9999", body_of(valid(startTime="9999-12-31T23:59:59Z")),
            field="startTime"),
    Hostile("startTime without an offset", body_of(valid(startTime="2030-01-01T09:00:00")),
            field="startTime"),
    Hostile("delayMs as a string", body_of(valid(delayMs="1000")), field="delayMs"),
    Hostile("hourlyLimit as a string", body_of(valid(hourlyLimit="10")), field="hourlyLimit"),
    Hostile("delayMs as a boolean", body_of(valid(delayMs=True)), field="delayMs"),
    Hostile("negative delayMs", body_of(valid(delayMs=-1)), field="delayMs"),
    Hostile("hourlyLimit of 0", body_of(valid(hourlyLimit=0)), field="hourlyLimit"),
    Hostile("duplicate keys", _duplicate_keys(), field="subject"),
    Hostile("wrong content type (text/plain)", body_of(valid()), 415, content_type="text/plain"),
    Hostile("wrong content type (form)", b"subject=Hello&body=x", 415,
            content_type="application/x-www-form-urlencoded"),
    Hostile("empty body", b""),
    Hostile("not JSON", b'{"subject": '),
    Hostile("a JSON array", b"[]"),
    Hostile("an unknown field", body_of(valid(bcc=["victim@example.com"])), field="bcc"),
    Hostile("no recipients", body_of(valid(recipients=[])), field="recipients"),
    Hostile("SQL in a recipient", body_of(valid(
        recipients=["x'; DROP TABLE emails;--@example.com"])), field="recipients[0]"),
    Hostile("HTML as sender.email", body_of(valid(sender_email="<script>@example.com")),
            field="sender.email"),
]


@dataclass(frozen=True)
class Odd:
    """A valid request that looks odd; sent, it must arrive as written."""

    name: str
    request: dict[str, Any]

    @property
    def recipient(self) -> str:
        return str(self.request["recipients"][0])


def _odd(name: str, **changes: Any) -> Odd:
    request = valid(startTime=datetime.now(UTC).isoformat(), **changes)
    return Odd(name, copy.deepcopy(request))


def odd_cases() -> list[Odd]:
    """Built when called: their start time is now. Each from a sender of its own."""
    cases = [
        _odd("IDN recipient domain", recipients=["anna@bücher.example"]),
        _odd("unicode local part", recipients=["josé@example.com"]),
        _odd("unicode subject", subject="Grüße 👋 — 日本語 ✓", recipients=["u1@example.com"]),
        _odd("unicode sender name", sender_name="Zoë Ågren 山田", recipients=["u2@example.com"]),
        _odd("SQL in subject and body", subject="'; DROP TABLE emails; --",
             body="<p>Robert'); DROP TABLE students;--</p>", recipients=["u3@example.com"]),
        _odd("HTML in subject and body", subject="<script>alert(1)</script>",
             body="<img src=x onerror=alert(1)>", recipients=["u4@example.com"]),
        _odd("CR/LF and a lone dot in body", recipients=["u5@example.com"],
             body="first\r\n.\r\nMAIL FROM:<evil@example.com>\r\nlast"),
    ]
    for number, case in enumerate(cases):
        case.request["sender"]["email"] = f"odd{number}@example.com"
    return cases
