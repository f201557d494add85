"""Mailboxes connected by OAuth (SPEC.md "Mailboxes connected by OAuth"): the providers and
their defaults, the consent's PKCE pair and state, when an access token is due for refresh,
what the ID token says, and the daily limits a provider suggests. No I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from emailsched.domain.senders import Security

PROVIDERS = ("google", "microsoft")
STATE_TTL_SECONDS = 600  # a consent must come back within 10 minutes
GOOGLE_SCOPES = "https://mail.google.com/ openid email"
MICROSOFT_SCOPES = ("https://outlook.office.com/SMTP.Send "
                    "https://outlook.office.com/IMAP.AccessAsUser.All offline_access openid email")
# Consumer Google accounts send 500 a day; Workspace 2,000; Microsoft 365 10,000 recipients.
CONSUMER_GOOGLE_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
_OVERRIDABLE = ("authorizationUrl", "tokenUrl", "smtpHost", "smtpPort", "smtpSecurity",
                "imapHost", "imapPort", "imapSecurity")


@dataclass(frozen=True)
class TakenState:
    """A consent's state as the callback takes it (once)."""

    user_id: uuid.UUID
    provider: str
    options: dict[str, Any]
    expires_at: datetime


class OAuthSetupError(ValueError):
    """OAUTH_PROVIDER_ENDPOINTS does not parse or names something unknown."""


@dataclass(frozen=True)
class ProviderEndpoints:
    """Where one provider's consent, tokens and mail servers are."""

    name: str
    authorization_url: str
    token_url: str
    scopes: str
    smtp_host: str
    smtp_port: int
    smtp_security: Security
    imap_host: str  # empty: the provider has no IMAP here
    imap_port: int
    imap_security: Security


def default_endpoints(provider: str, microsoft_tenant: str = "common") -> ProviderEndpoints:
    if provider == "google":
        return ProviderEndpoints(
            "google", "https://accounts.google.com/o/oauth2/v2/auth",
            "https://oauth2.googleapis.com/token", GOOGLE_SCOPES,
            "smtp.gmail.com", 587, Security.STARTTLS, "imap.gmail.com", 993, Security.TLS)
    if provider == "microsoft":
        base = f"https://login.microsoftonline.com/{microsoft_tenant}/oauth2/v2.0"
        return ProviderEndpoints(
            "microsoft", f"{base}/authorize", f"{base}/token", MICROSOFT_SCOPES,
            "smtp.office365.com", 587, Security.STARTTLS, "outlook.office365.com", 993,
            Security.TLS)
    raise OAuthSetupError(f"unknown OAuth provider {provider!r} (google or microsoft)")


def endpoints(provider: str, overrides_json: str,
              microsoft_tenant: str = "common") -> ProviderEndpoints:
    """The provider's defaults with OAUTH_PROVIDER_ENDPOINTS's overrides for it applied."""
    found = default_endpoints(provider, microsoft_tenant)
    given = parse_overrides(overrides_json).get(provider, {})
    names = {"authorizationUrl": "authorization_url", "tokenUrl": "token_url",
             "smtpHost": "smtp_host", "smtpPort": "smtp_port", "smtpSecurity": "smtp_security",
             "imapHost": "imap_host", "imapPort": "imap_port", "imapSecurity": "imap_security"}
    changes: dict[str, Any] = {}
    for key, value in given.items():
        field = names[key]
        if field.endswith("_port"):
            changes[field] = int(value)
        elif field.endswith("_security"):
            changes[field] = Security(str(value))
        else:
            changes[field] = str(value)
    return replace(found, **changes)


def parse_overrides(text: str) -> dict[str, dict[str, Any]]:
    """OAUTH_PROVIDER_ENDPOINTS as {provider: {key: value}}; OAuthSetupError saying why not."""
    if not text.strip():
        return {}
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise OAuthSetupError(f"OAUTH_PROVIDER_ENDPOINTS is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise OAuthSetupError("OAUTH_PROVIDER_ENDPOINTS must be a JSON object by provider")
    for provider, values in document.items():
        if provider not in PROVIDERS or not isinstance(values, dict):
            raise OAuthSetupError(f"OAUTH_PROVIDER_ENDPOINTS: {provider!r} is not google or "
                                  "microsoft with an object of endpoints")
        unknown = set(values) - set(_OVERRIDABLE)
        if unknown:
            raise OAuthSetupError(f"OAUTH_PROVIDER_ENDPOINTS.{provider}: unknown "
                                  f"{sorted(unknown)} (known: {', '.join(_OVERRIDABLE)})")
    return document


# --- the consent ---------------------------------------------------------------------

def new_state() -> str:
    """A fresh single-use state: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def state_hash(state: str) -> str:
    """What is stored of a state: its SHA-256, so the table alone cannot finish a consent."""
    return hashlib.sha256(state.encode()).hexdigest()


def code_verifier(key: bytes, state: str) -> str:
    """The PKCE verifier of a consent (RFC 7636: 43 characters), derived from its state under
    a server key, so nothing secret is stored and the API never needs to decrypt. A stolen
    redirect (code and state) is not enough without the key."""
    digest = hmac.new(key, b"emailsched/pkce/v1:" + state.encode(), hashlib.sha256).digest()
    return _b64(digest)


def code_challenge(verifier: str) -> str:
    """S256: BASE64URL(SHA256(verifier))."""
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def authorization_url(provider: ProviderEndpoints, client_id: str, redirect_uri: str,
                      state: str, challenge: str) -> str:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
              "scope": provider.scopes, "state": state, "code_challenge": challenge,
              "code_challenge_method": "S256"}
    if provider.name == "google":
        # offline: a refresh token; consent: one again even for a user who agreed before.
        params.update(access_type="offline", prompt="consent", include_granted_scopes="true")
    else:
        params.update(prompt="select_account")
    separator = "&" if "?" in provider.authorization_url else "?"
    return f"{provider.authorization_url}{separator}{urlencode(params)}"


def mailbox_address(provider: str, id_token: str | None) -> str | None:
    """The mailbox's address from the ID token the token endpoint returned (unverified, as
    OpenID Connect Core 3.1.3.7 allows over TLS): `email`, or Microsoft's
    `preferred_username`. None when there is none."""
    claims = id_token_claims(id_token) if id_token else {}
    email = claims.get("email")
    if not (isinstance(email, str) and "@" in email) and provider == "microsoft":
        email = claims.get("preferred_username")
    if isinstance(email, str) and "@" in email and " " not in email.strip():
        return email.strip().lower()
    return None


def id_token_claims(id_token: str) -> Mapping[str, Any]:
    parts = id_token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def suggested_daily_limit(provider: str, email: str) -> int:
    """The provider's own cap on a day's sending, as the consent's default dailyLimit."""
    if provider == "microsoft":
        return 10_000
    domain = email.rpartition("@")[2].lower()
    return 500 if domain in CONSUMER_GOOGLE_DOMAINS else 2_000


# --- access tokens -------------------------------------------------------------------

def reuse_seconds(expires_in: float) -> float:
    """How long a fresh access token is used: until 60 s, or a tenth of its lifetime if
    less, before it expires."""
    margin = min(60.0, expires_in / 10)
    return max(0.0, expires_in - margin)


def xoauth2(user: str, access_token: str) -> str:
    """The SASL XOAUTH2 initial response (Google's and Microsoft's), before base64."""
    return f"user={user}\x01auth=Bearer {access_token}\x01\x01"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
