"""The TLS context every client connection of a worker shares (SMTP, IMAP).

Building one loads the system trust store, about 10 ms of CPU: per connection that was half
of a worker's time with 200 mailboxes (BENCHMARKS.md, "Many mailboxes"). A context is safe
to share between threads and connections; nothing here changes one after it is built.
"""

from __future__ import annotations

import functools
import ssl


@functools.cache
def client_context(verify: bool) -> ssl.SSLContext:
    """The default context (system trust store, hostname checked), or one that accepts any
    certificate when the deployment says SMTP_TLS_VERIFY=false."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
