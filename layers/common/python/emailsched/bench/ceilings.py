"""What this machine does without our code in the way, measured in the same run and on
the same services as our figure: plain smtplib and Postfix's C `smtp-source` into the same
sink, and plain boto3 send/receive/delete on the same moto server at the queue depth our
run kept."""

from __future__ import annotations

import json
import os
import shutil
import smtplib
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import boto3

from emailsched.adapters.mime import build_message
from emailsched.bench.sink import SinkProcess
from emailsched.bench.stats import rate
from emailsched.domain.outgoing import OutgoingEmail

SQS_BATCH = 10


@dataclass(frozen=True)
class Ceiling:
    per_second: float
    count: int
    seconds: float


def smtplib_ceiling(sink: SinkProcess, count: int, connections: int, sender: str,
                    subject: str, body_html: str) -> Ceiling:
    """`count` messages like ours (rendered beforehand, as plain smtplib would be handed
    them), sent with `sendmail` over `connections` connections in as many threads; the rate
    is taken at the sink, from the first to the last accepted, as ours is."""
    tag = uuid.uuid4().hex[:8]
    messages = [(f"c{tag}{i:06d}@example.com", build_message(OutgoingEmail(
        f"<ceiling-{tag}-{i}@bench.local>", sender, "Bench", f"c{tag}{i:06d}@example.com",
        subject, body_html)).as_bytes()) for i in range(count)]
    shares = [messages[n::connections] for n in range(connections)]

    def send(share: list[tuple[str, bytes]]) -> None:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as client:
            for recipient, data in share:
                client.sendmail(sender, [recipient], data)

    started = time.monotonic()
    threads = [threading.Thread(target=send, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    times = [a.at for a in sink.accepted() if a.message_id.startswith(f"<ceiling-{tag}-")]
    if len(times) != count:
        raise RuntimeError(f"the sink accepted {len(times)} of {count} ceiling messages")
    return Ceiling(rate(times), count, seconds)


def smtp_source_ceiling(sink: SinkProcess, count: int, sessions: int, sender: str,
                        subject: str, body_html: str,
                        keep_connections: bool = False) -> Ceiling | None:
    """Postfix's C client (`smtp-source`, Debian's postfix package) sending `count`
    messages like ours in `sessions` parallel sessions into the same sink: by default a
    connection per message, as smtp-source does; with `keep_connections` (`-d`) each
    session's connection carries message after message. None where it is not installed.
    Counted at the sink by its envelope sender."""
    program = shutil.which("smtp-source", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if program is None:
        return None
    tag = uuid.uuid4().hex[:8]
    envelope = f"source-{tag}@bench.local"
    message = build_message(OutgoingEmail(f"<source-{tag}@bench.local>", sender, "Bench",
                                          "c000000@example.com", subject, body_html))
    with tempfile.NamedTemporaryFile("wb", suffix=".eml") as file:
        # smtp-source appends CRLF to each line and dot-stuffs itself: give it LF lines
        file.write(message.as_bytes().replace(b"\r\n", b"\n"))
        file.flush()
        started = time.monotonic()
        keep = ["-d"] if keep_connections else []
        subprocess.run([program, *keep, "-s", str(sessions), "-m", str(count), "-f", envelope,
                        "-t", "c000000@example.com", "-M", "bench.local", "-F", file.name,
                        f"127.0.0.1:{sink.port}"], check=True, timeout=max(60, count / 10),
                       stdout=subprocess.DEVNULL)
        seconds = time.monotonic() - started
    times = [a.at for a in sink.accepted() if a.mail_from == envelope]
    if len(times) != count:
        raise RuntimeError(f"the sink accepted {len(times)} of {count} smtp-source messages")
    return Ceiling(rate(times), count, seconds)


def sqs_ceiling(endpoint_url: str, region: str, depth: int, messages: int) -> Ceiling:
    """One plain boto3 client on a fresh queue of the same moto server, kept at `depth`
    messages: receive up to 10, delete them, send as many back, until `messages` were
    received. Bodies name 10 email ids, like ours."""
    client: Any = boto3.client("sqs", region_name=region, endpoint_url=endpoint_url,
                               aws_access_key_id="bench", aws_secret_access_key="bench")
    url = client.create_queue(QueueName=f"bench-ceiling-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    body = json.dumps({"v": 1, "emails": [str(uuid.uuid4()) for _ in range(10)]})
    try:
        _send(client, url, body, max(depth, SQS_BATCH))
        received = 0
        started = time.monotonic()
        while received < messages:
            answer = client.receive_message(QueueUrl=url, MaxNumberOfMessages=SQS_BATCH,
                                            WaitTimeSeconds=1)
            got = answer.get("Messages", [])
            if not got:
                continue
            client.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
            _send(client, url, body, len(got))
            received += len(got)
        seconds = time.monotonic() - started
    finally:
        client.delete_queue(QueueUrl=url)
    return Ceiling(received / seconds, received, seconds)


def _send(client: Any, url: str, body: str, count: int) -> None:
    for start in range(0, count, SQS_BATCH):
        entries = [{"Id": str(i), "MessageBody": body}
                   for i in range(min(SQS_BATCH, count - start))]
        client.send_message_batch(QueueUrl=url, Entries=entries)
