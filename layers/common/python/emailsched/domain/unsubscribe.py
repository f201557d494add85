"""One-click unsubscribe (RFC 8058): a signed token naming one email, its URL, headers, footer.

A token is `<email id>.<mac>`, both base64url without padding (22 + 1 + 22 characters):
the MAC is HMAC-SHA256 under a key of the deployment's over a purpose label and the id's
16 bytes, truncated to 16 bytes (128 bits: unguessable, and no id can be swapped in).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import html
import uuid

MIN_KEY_BYTES = 16
MAC_BYTES = 16
_PURPOSE = b"emailsched/unsubscribe/v1\x00"
_B64_UUID_CHARS = 22
_B64_MAC_CHARS = 22


def make_token(key: bytes, email_id: uuid.UUID) -> str:
    """The unsubscribe token of one email."""
    return f"{_b64(email_id.bytes)}.{_b64(_mac(key, email_id))}"


def read_token(key: bytes, token: str) -> uuid.UUID | None:
    """The email id a token names, or None when it is altered or not a token at all."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 2 or (len(parts[0]), len(parts[1])) != (_B64_UUID_CHARS, _B64_MAC_CHARS):
        return None
    raw_id, mac = _unb64(parts[0]), _unb64(parts[1])
    if raw_id is None or mac is None or len(raw_id) != 16:
        return None
    email_id = uuid.UUID(bytes=raw_id)
    # compare the canonical encoding too, so only one spelling of a token is ever valid
    if not hmac.compare_digest(make_token(key, email_id), token):
        return None
    return email_id


def unsubscribe_url(public_url: str, token: str) -> str:
    """Where the token is confirmed: `PUBLIC_URL/u/TOKEN`."""
    return f"{public_url.rstrip('/')}/u/{token}"


def list_unsubscribe_headers(url: str) -> dict[str, str]:
    """The RFC 8058 pair: `List-Unsubscribe` and `List-Unsubscribe-Post`."""
    return {"List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def footer_html(url: str, postal_address: str | None = None) -> str:
    """The footer a body gets when it has no `{{ unsubscribe_url }}` of its own."""
    before, after = _footer_around(postal_address)
    return f"{before}{html.escape(url, quote=True)}{after}"


@functools.lru_cache(maxsize=256)
def _footer_around(postal_address: str | None) -> tuple[str, str]:
    """The footer before and after its URL: the same for every email of a user, so made
    once per worker and postal address."""
    address = ""
    if postal_address and postal_address.strip():
        lines = (html.escape(line.strip()) for line in postal_address.strip().splitlines())
        address = f"<br>{'<br>'.join(line for line in lines if line)}"
    return ('<p style="font-size:12px;color:#666666;margin-top:24px">'
            "Don't want these emails? <a href=\"", f'">Unsubscribe</a>{address}</p>')


def footer_text(url: str, postal_address: str | None = None) -> str:
    """The same footer for the plain-text part."""
    text = f"Don't want these emails? Unsubscribe: {url}"
    if postal_address and postal_address.strip():
        text += "\n" + "\n".join(line.strip() for line in postal_address.strip().splitlines()
                                 if line.strip())
    return text


def append_footer(body_html: str, footer: str) -> str:
    """`body_html` with `footer` before its `</body>`, or at its end."""
    closing = body_html.lower().rfind("</body>")
    if closing < 0:
        return f"{body_html}\n{footer}"
    return f"{body_html[:closing]}{footer}\n{body_html[closing:]}"


def _mac(key: bytes, email_id: uuid.UUID) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the unsubscribe key must have at least {MIN_KEY_BYTES} bytes")
    return hmac.new(key, _PURPOSE + email_id.bytes, hashlib.sha256).digest()[:MAC_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
