"""`emailsched inbound FILE...`: what the reply poller reads from each message, one JSON
object a line, for an operator asking why a bounce did not suppress. `-` reads standard
input. The reading is the poller's own (domain/inbound read_inbound)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import BinaryIO, TextIO

from emailsched.domain.inbound import read_inbound


def run_inbound(paths: Sequence[str], out: TextIO | None = None,
                stdin: BinaryIO | None = None) -> int:
    out = out or sys.stdout
    for path in paths:
        try:
            raw = _read(path, stdin or sys.stdin.buffer)
        except OSError as error:  # say so for this file and go on with the others
            print(json.dumps({"file": path, "error": error.strerror or str(error)}), file=out)
            continue
        print(json.dumps(read_inbound(raw).as_dict(path), ensure_ascii=False), file=out)
    return 0


def _read(path: str, stdin: BinaryIO) -> bytes:
    if path == "-":
        return stdin.read()
    with open(path, "rb") as file:
        return file.read()
