"""A real IMAP server for tests: Debian's Dovecot (`dovecot-imapd`), configured in a temporary
folder as FACTS.md describes (passwd-file users with {PLAIN} passwords, Maildir, a free
loopback port, no TLS), started with `dovecot -c <conf>` and stopped with `... stop`.

    with running_dovecot(tmp_path) as server:
        server.add_user("sales@example.com", "secret")
        server.imap("sales@example.com", "secret").append(...)

or, in a test module, `pytest_plugins = ["tests.support.dovecot"]` and the session fixture
`dovecot`. Tests are skipped, with the reason, when Dovecot is not installed (`.ci/run`
installs it) or the tests do not run as root (Dovecot switches to the mail user).
Nothing here uses port 143: each server listens on a free port of 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

MAIL_USER = "nobody"
MAIL_GROUP = "nogroup"
START_SECONDS = 15.0
PASSWD_RECHECK_SECONDS = 1.1


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")


def skip_reason() -> str | None:
    """Why a real Dovecot cannot run here, or None when it can."""
    if dovecot_binary() is None:
        return "dovecot is not installed (apt-get install dovecot-imapd; .ci/run does this)"
    if os.geteuid() != 0:
        return "Dovecot's test server needs root (it switches to the mail user 'nobody')"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class DovecotServer:
    """One Dovecot instance living entirely in `root` (config, sockets, state, log, mail)."""

    def __init__(self, root: Path, port: int | None = None,
                 oauth_introspection_url: str | None = None):
        """`oauth_introspection_url`: also take AUTHENTICATE XOAUTH2/OAUTHBEARER, the token
        checked by POSTing it there (RFC 7662; `active` true and `email` the user)."""
        self.oauth_introspection_url = oauth_introspection_url
        self.root = root
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.config = root / "dovecot.conf"
        self._passwd = root / "passwd"
        self._users: dict[str, str] = {}
        ids = pwd.getpwnam(MAIL_USER)
        self._uid, self._gid = ids.pw_uid, ids.pw_gid

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> DovecotServer:
        for folder in ("base", "state", "home"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        os.chown(self.root / "home", self._uid, self._gid)
        self._write_passwd()
        self.config.write_text(self._config_text())
        binary = dovecot_binary() or "dovecot"
        # The daemon keeps whatever it inherits open: no pipes, or run() would wait for it.
        with open(self.root / "start.err", "wb") as errors:
            started = subprocess.run([binary, "-c", str(self.config)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=errors, timeout=30,
                                     check=False)
        if started.returncode != 0:
            raise RuntimeError("dovecot did not start: "
                               + (self.root / "start.err").read_text(errors="replace"))
        self._wait_for_greeting()
        return self

    def stop(self) -> None:
        """Stop the server and wait until its master process is gone (killing it if needed)."""
        pid = self._master_pid()
        binary = dovecot_binary() or "dovecot"
        subprocess.run([binary, "-c", str(self.config), "stop"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30,
                       check=False)
        if pid is not None and not _wait_gone(pid, 10.0):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 5.0)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> DovecotServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- users and mail ----------------------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        """Add (or change) a user, also while running: Dovecot re-reads the passwd file when it
        changed, but looks at most once a second, so a running server gets that second."""
        if ":" in name or ":" in password or "\n" in name + password:
            raise ValueError("user names and passwords may not contain ':' or newlines")
        self._users[name] = password
        self._write_passwd()
        if self._master_pid() is not None:
            time.sleep(PASSWD_RECHECK_SECONDS)

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        base = self.root / "home" / user / "Maildir"
        return base if folder == "INBOX" else base / f".{folder}"

    def write_messages(self, user: str, messages: Iterable[bytes],
                       folder: str = "INBOX") -> int:
        """Drop messages straight into a Maildir's new/ (far faster than APPEND for thousands);
        Dovecot gives them UIDs at the next SELECT. Returns how many were written."""
        target = self.maildir(user, folder)
        for sub in ("cur", "new", "tmp"):
            (target / sub).mkdir(parents=True, exist_ok=True)
        self._chown_tree(self.root / "home" / user)
        stamp, count = int(time.time()), 0
        for count, message in enumerate(messages, start=1):
            name = f"{stamp}.M{count}P{os.getpid()}.emailsched-test"
            temporary = target / "tmp" / name
            temporary.write_bytes(message)
            os.chown(temporary, self._uid, self._gid)
            temporary.rename(target / "new" / name)
        return count

    def imap(self, user: str, password: str) -> imaplib.IMAP4:
        """A logged-in imaplib connection (the caller logs out)."""
        connection = imaplib.IMAP4(self.host, self.port, timeout=10)
        connection.login(user, password)
        return connection

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- internals ---------------------------------------------------------------------------

    def _write_passwd(self) -> None:
        lines = "".join(f"{name}:{{PLAIN}}{password}\n" for name, password in self._users.items())
        temporary = self._passwd.with_suffix(".tmp")
        temporary.write_text(lines)
        temporary.chmod(0o644)  # read by the auth process (user dovecot); test passwords only
        temporary.replace(self._passwd)

    def _oauth_text(self) -> tuple[str, str]:
        """The auth mechanisms, and the oauth2 passdb when tokens are taken."""
        if not self.oauth_introspection_url:
            return "plain login", ""
        args = self.root / "oauth2.conf"
        args.write_text(f"""\
introspection_mode = post
introspection_url = {self.oauth_introspection_url}
username_attribute = email
active_attribute = active
active_value = true
""")
        args.chmod(0o644)
        return "xoauth2 oauthbearer plain login", f"""\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {args}
}}
"""

    def _config_text(self) -> str:
        root = self.root
        mechanisms, oauth_passdb = self._oauth_text()
        return f"""\
protocols = imap
listen = {self.host}
base_dir = {root}/base
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
mail_location = maildir:{root}/home/%u/Maildir
{oauth_passdb}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self._passwd}
}}
userdb {{
  driver = static
  args = uid={MAIL_USER} gid={MAIL_GROUP} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""

    def _wait_for_greeting(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=2) as probe:
                    if probe.recv(200).startswith(b"* OK"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Dovecot did not greet on port {self.port}:\n{self.log()}")
            time.sleep(0.05)

    def _master_pid(self) -> int | None:
        try:
            return int((self.root / "base" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _chown_tree(self, top: Path) -> None:
        for path in [top, *top.rglob("*")]:
            os.chown(path, self._uid, self._gid)


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@contextlib.contextmanager
def running_dovecot(root: Path | None = None,
                    oauth_introspection_url: str | None = None) -> Iterator[DovecotServer]:
    """A started server in `root` (a fresh temporary folder by default), stopped on exit."""
    with contextlib.ExitStack() as stack:
        if root is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dovecot-")))
        root.chmod(0o755)  # the mail user must reach its home inside
        server = DovecotServer(root, oauth_introspection_url=oauth_introspection_url).start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """One server for the session, in its own folder under /tmp: pytest's tmp_path folders
    are private to root, and Dovecot reads mail as the user 'nobody'."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    with running_dovecot() as server:
        yield server
