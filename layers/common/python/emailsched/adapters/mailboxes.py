"""MailboxReader adapters for the reply poller: a sender's IMAP mailbox (adapters/
imap_mailbox.py), and a Maildir, the mailbox `emailsched dev`'s capture inbox writes its
"Reply" and "Bounce" messages into (one folder per sender address under DEV_REPLY_MAILDIR).

A Maildir has no UIDs of its own: each message file is named `<uid>.<unique>` by
`deliver_to_maildir`, which takes the next number with an exclusive create, and the folder's
`uidvalidity` file holds its UIDVALIDITY (written when the folder is made). Both readers
answer through the same port, so the poller's parsing and matching are the same code.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

from emailsched.adapters.imap_mailbox import Checkpoint, ImapMailbox, ImapSettings, Security
from emailsched.ports import (
    AccessTokens,
    CredentialCipher,
    InboundRaw,
    MailboxPosition,
    MailboxReader,
    ReplyMailbox,
    credential_context,
)

MAILDIR_SUBFOLDERS = ("tmp", "new", "cur")


class ImapReader:
    def __init__(self, mailbox: ImapMailbox):
        self._mailbox = mailbox

    def fetch_new(self, position: MailboxPosition | None,
                  max_messages: int) -> tuple[list[InboundRaw], MailboxPosition]:
        checkpoint = None if position is None else Checkpoint(position.uidvalidity,
                                                              position.last_uid)
        messages, after = self._mailbox.fetch_new(checkpoint, max_messages)
        return ([InboundRaw(m.uid, m.raw) for m in messages],
                MailboxPosition(after.uidvalidity, after.last_uid))

    def close(self) -> None:
        self._mailbox.close()


class MaildirReader:
    def __init__(self, folder: Path):
        self._folder = folder

    def fetch_new(self, position: MailboxPosition | None,
                  max_messages: int) -> tuple[list[InboundRaw], MailboxPosition]:
        validity = maildir_uidvalidity(self._folder)
        last = position.last_uid if position and position.uidvalidity == validity else 0
        found: list[tuple[int, Path]] = []
        for sub in ("new", "cur"):
            directory = self._folder / sub
            if not directory.is_dir():
                continue
            for entry in os.scandir(directory):
                uid = _uid_of(entry.name)
                if uid is not None and uid > last:
                    found.append((uid, Path(entry.path)))
        found.sort()
        chosen = found[:max(max_messages, 0)]
        messages = [InboundRaw(uid, path.read_bytes()) for uid, path in chosen]
        return messages, MailboxPosition(validity, chosen[-1][0] if chosen else last)

    def close(self) -> None:
        return None


class MailboxOpeners:
    """IMAP for a sender with an `imap` block (AUTHENTICATE XOAUTH2 with an access token
    for one connected by OAuth); else its dev Maildir when one is configured."""

    def __init__(self, cipher: Callable[[], CredentialCipher], maildir_root: str = "",
                 timeout: float = 10.0, verify_tls: bool = True,
                 tokens: Callable[[], AccessTokens] | None = None):
        self._cipher, self._root = cipher, maildir_root
        self._timeout, self._verify_tls = timeout, verify_tls
        self._tokens = tokens

    def open(self, mailbox: ReplyMailbox) -> MailboxReader | None:
        oauth = mailbox.kind in ("google", "microsoft")
        if mailbox.imap is not None and oauth:
            if self._tokens is None:
                return None
            token, _ = self._tokens().access_token(mailbox.sender_id)
            server = mailbox.imap
            settings = ImapSettings(server.host, server.port,
                                    cast(Security, str(server.security.value)),
                                    server.username, token, self._timeout, self._verify_tls,
                                    oauth=True)
            return ImapReader(ImapMailbox(settings))
        if mailbox.imap is not None:
            password = ""
            if mailbox.imap_password_enc:
                context = credential_context(str(mailbox.sender_id), "imap_password")
                password = self._cipher().decrypt(mailbox.imap_password_enc, context)
            server = mailbox.imap
            security = cast(Security, str(server.security.value))
            settings = ImapSettings(server.host, server.port, security, server.username,
                                    password, self._timeout, self._verify_tls)
            return ImapReader(ImapMailbox(settings))
        if self._root:
            folder = maildir_for(self._root, mailbox.email)
            return MaildirReader(folder) if folder.is_dir() else None
        return None


def maildir_for(root: str | Path, address: str) -> Path:
    """The dev Maildir of one sender address."""
    safe = "".join(ch if ch.isalnum() or ch in "@._-+" else "_" for ch in address.lower())
    return Path(root) / safe


def maildir_uidvalidity(folder: Path) -> int:
    try:
        return int((folder / "uidvalidity").read_text().strip())
    except (OSError, ValueError):
        return 0


def deliver_to_maildir(folder: Path, raw: bytes) -> int:
    """Write one message into the Maildir (made if missing) under the next UID; the UID."""
    for sub in MAILDIR_SUBFOLDERS:
        (folder / sub).mkdir(parents=True, exist_ok=True)
    validity = folder / "uidvalidity"
    if not validity.exists():
        try:
            with open(validity, "x") as handle:
                handle.write(str(int(time.time())))
        except FileExistsError:
            pass
    taken = [uid for sub in ("new", "cur") for name in os.listdir(folder / sub)
             if (uid := _uid_of(name)) is not None]
    uid = max(taken, default=0) + 1
    while True:
        temporary = folder / "tmp" / f"{uid}.{os.getpid()}.{time.time_ns()}"
        temporary.write_bytes(raw)
        target = folder / "new" / f"{uid}.emailsched"
        try:
            os.link(temporary, target)  # fails when another writer took this UID
        except FileExistsError:
            temporary.unlink()
            uid += 1
            continue
        temporary.unlink()
        return uid


def _uid_of(name: str) -> int | None:
    head = name.split(".", 1)[0]
    return int(head) if head.isdigit() else None
