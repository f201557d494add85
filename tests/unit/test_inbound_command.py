"""`emailsched inbound FILE...`: one JSON object a line, what the poller reads, exit 0."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from emailsched.cli import main
from emailsched.local.inbound_command import run_inbound

pytestmark = pytest.mark.unit
CORPUS = Path(__file__).resolve().parents[1] / "data" / "bounces"


def test_each_file_is_printed_as_the_poller_reads_it(capsys: pytest.CaptureFixture[str]):
    files = [str(CORPUS / "generated" / "postfix_unknown_user.eml"),
             str(CORPUS / "complaints" / "rfc5965_abuse.eml")]
    assert main(["inbound", *files]) == 0
    bounce, complaint = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert bounce == {
        "file": files[0], "kind": "bounce", "reason": "RFC 3464 delivery-status",
        "messageIds": ["<pf-unknown-1@mail.bounces.test>"],
        "recipients": [{"email": "nobodyhere@bounces.test", "status": "5.1.1",
                        "action": "failed", "bounce": "hard",
                        "diagnostic": 'unknown user: "nobodyhere"'}]}
    assert (complaint["kind"], complaint["recipients"][0]["email"]) == (
        "complaint", "user@example.com")


def test_a_dash_reads_standard_input_and_a_missing_file_does_not_stop_the_rest():
    out = io.StringIO()
    stdin = io.BytesIO(b"From: a@example.org\r\nSubject: Re: hi\r\nIn-Reply-To: <x@y.z>\r\n\r\nok")
    assert run_inbound(["/nonexistent/message.eml", "-"], out=out, stdin=stdin) == 0
    missing, read = (json.loads(line) for line in out.getvalue().splitlines())
    assert missing["file"] == "/nonexistent/message.eml" and "error" in missing
    assert (read["file"], read["kind"], read["messageIds"]) == ("-", "reply", ["<x@y.z>"])
