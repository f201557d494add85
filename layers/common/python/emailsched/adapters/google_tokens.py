"""Verify Google ID tokens (the `credential` of Sign in with Google) and say who signed in.

google-auth checks the RS256 signature, the times and the audience; this module fetches
Google's signing certificates and caches them as their HTTP headers allow, checks the claims
google-auth leaves to its callers (issuer, verified email), and turns every failure into an
`Unauthenticated` with a specific message. The token itself never appears in a message, a
log line or a chained exception.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from google.auth import crypt, jwt
from google.auth import exceptions as google_errors
from google.auth.transport.requests import Request

from emailsched.errors import ServiceUnavailable, Unauthenticated

logger = logging.getLogger(__name__)

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})

# A login waits on this fetch; google-auth's own default (120 s) would hold it far too long.
FETCH_TIMEOUT_SECONDS = 5.0
# Tokens naming a key we do not know trigger one refetch (Google rotated its keys), but no
# more often than this: otherwise anyone could make us fetch once per forged token.
UNKNOWN_KEY_REFETCH_COOLDOWN_SECONDS = 5.0

NOT_A_GOOGLE_TOKEN = "not a Google ID token"
UNKNOWN_KEY = "token was signed by an unknown key"
BAD_SIGNATURE = "token signature is invalid"
EXPIRED = "token has expired"
NOT_YET_VALID = "token is not valid yet"
WRONG_AUDIENCE = "token was issued for another client"
WRONG_ISSUER = "token issuer is not Google"
NO_IDENTITY = "token names no user or email address"
EMAIL_NOT_VERIFIED = "email address is not verified"


@dataclass(frozen=True)
class GoogleIdentity:
    """The signed-in Google user, as the verified token describes them."""

    sub: str
    email: str
    name: str
    picture: str | None


@dataclass(frozen=True)
class _UnverifiedToken:
    kid: str
    claims: Mapping[str, Any]


class GoogleTokenVerifier:
    """Verifies Google ID tokens for one OAuth client; safe to share between threads."""

    def __init__(
        self,
        client_id: str,
        certs_url: str = GOOGLE_CERTS_URL,
        *,
        session: requests.Session | None = None,
        clock_skew_seconds: int = 10,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client_id = client_id
        self._skew = clock_skew_seconds
        self._certs = _CertificateCache(certs_url, Request(session), monotonic)

    def verify(self, credential: str) -> GoogleIdentity:
        """The identity in `credential`; raises Unauthenticated saying why it is not valid,
        or ServiceUnavailable when Google's certificates cannot be fetched."""
        token = _parse_unverified(credential)
        certificate = self._certs.certificate(token.kid)
        if certificate is None:
            raise Unauthenticated(UNKNOWN_KEY)
        claims = self._decode(credential, token, certificate)
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise Unauthenticated(WRONG_ISSUER)
        return _identity(claims)

    def _decode(
        self, credential: str, token: _UnverifiedToken, certificate: str
    ) -> Mapping[str, Any]:
        # google-auth checks signature, then iat/exp, then audience. With the token's shape
        # already checked, a MalformedError can only mean the signature; an InvalidValue is
        # a time or audience failure, which the (now authentic) claims tell apart.
        try:
            claims: Mapping[str, Any] = jwt.decode(
                credential,
                certs={token.kid: certificate},
                audience=self._client_id,
                clock_skew_in_seconds=self._skew,
            )
        except google_errors.MalformedError:
            raise Unauthenticated(BAD_SIGNATURE) from None
        except google_errors.InvalidValue:
            raise Unauthenticated(self._rejected_claim(token.claims)) from None
        return claims

    def _rejected_claim(self, claims: Mapping[str, Any]) -> str:
        now = time.time()
        if claims["exp"] + self._skew < now:
            return EXPIRED
        if claims["iat"] - self._skew > now:
            return NOT_YET_VALID
        if claims.get("aud") != self._client_id:
            return WRONG_AUDIENCE
        return NOT_A_GOOGLE_TOKEN


def _parse_unverified(credential: str) -> _UnverifiedToken:
    """The token's key id and claims, read without trusting them, so that failures later on
    can only be about the signature or the claims' values."""
    # `from None`: google-auth's parse errors quote the token, and a chained exception
    # would carry it into any log that prints the traceback.
    try:
        header = jwt.decode_header(credential)
        claims = jwt.decode(credential, verify=False)
    except (ValueError, TypeError):
        raise Unauthenticated(NOT_A_GOOGLE_TOKEN) from None
    kid = header.get("kid")
    if header.get("alg") != "RS256" or not isinstance(kid, str) or not kid:
        raise Unauthenticated(NOT_A_GOOGLE_TOKEN)
    if not all(_is_number(claims.get(name)) for name in ("iat", "exp")):
        raise Unauthenticated(NOT_A_GOOGLE_TOKEN)
    return _UnverifiedToken(kid, claims)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _identity(claims: Mapping[str, Any]) -> GoogleIdentity:
    sub, email = claims.get("sub"), claims.get("email")
    if not isinstance(sub, str) or not sub or not isinstance(email, str) or not email:
        raise Unauthenticated(NO_IDENTITY)
    # Google sends a boolean; some older tokens carried the string "true".
    if claims.get("email_verified") not in (True, "true"):
        raise Unauthenticated(EMAIL_NOT_VERIFIED)
    name, picture = claims.get("name"), claims.get("picture")
    return GoogleIdentity(
        sub=sub,
        email=email,
        name=name if isinstance(name, str) and name else email,
        picture=picture if isinstance(picture, str) and picture else None,
    )


class _CertificateCache:
    """Google's signing certificates (key id → PEM), kept as long as their HTTP cache headers
    allow and refetched once when a token names a key we have not seen."""

    def __init__(self, url: str, request: Request, monotonic: Callable[[], float]) -> None:
        self._url = url
        self._request = request
        self._monotonic = monotonic
        # One lock for reads and fetches: concurrent logins share a single fetch.
        self._lock = threading.Lock()
        self._certs: Mapping[str, str] = {}
        self._fetched_at = float("-inf")
        self._fresh_until = float("-inf")

    def certificate(self, kid: str) -> str | None:
        with self._lock:
            now = self._monotonic()
            stale = now >= self._fresh_until
            rotated = kid not in self._certs and (
                now - self._fetched_at >= UNKNOWN_KEY_REFETCH_COOLDOWN_SECONDS
            )
            if stale or rotated:
                self._refresh(now)
            return self._certs.get(kid)

    def _refresh(self, now: float) -> None:
        try:
            response = self._request(self._url, method="GET", timeout=FETCH_TIMEOUT_SECONDS)
        except google_errors.TransportError as exc:
            logger.warning("fetching Google's certificates failed: %s", exc)
            raise ServiceUnavailable("Google's signing certificates could not be fetched") from exc
        if response.status != 200:
            logger.warning("fetching Google's certificates answered HTTP %s", response.status)
            raise ServiceUnavailable("Google's signing certificates could not be fetched")
        self._certs = _parse_certificates(response.data)
        self._fetched_at = now
        self._fresh_until = now + freshness_seconds(response.headers, datetime.now(UTC))
        logger.info(
            "fetched %d Google certificates, fresh for %.0f s",
            len(self._certs),
            self._fresh_until - now,
        )


def _parse_certificates(body: bytes) -> dict[str, str]:
    """The {key id: PEM certificate} document, each certificate loaded once to prove it is
    usable, so a bad document is the certificate server's fault (503), not the token's."""
    try:
        document = json.loads(body)
        if not isinstance(document, dict) or not document:
            raise ValueError("expected a non-empty JSON object")
        for kid, pem in document.items():
            if not isinstance(pem, str):
                raise ValueError(f"certificate {kid!r} is not a string")
            crypt.RSAVerifier.from_string(pem)
    except ValueError as exc:
        logger.warning("Google's certificate document is unusable: %s", exc)
        raise ServiceUnavailable("Google's signing certificates are unusable") from exc
    return document


def freshness_seconds(headers: Mapping[str, str], now: datetime) -> float:
    """How long a response stays fresh by its Cache-Control max-age (less its Age), else its
    Expires (against its Date); zero when it must not be reused or says nothing."""
    directives = [d.strip().lower() for d in headers.get("Cache-Control", "").split(",")]
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    for directive in directives:
        if directive.startswith("max-age="):
            try:
                return max(0.0, float(int(directive[8:]) - _int_header(headers, "Age")))
            except ValueError:
                return 0.0
    expires = _date_header(headers, "Expires")
    if expires is None:
        return 0.0
    return max(0.0, (expires - (_date_header(headers, "Date") or now)).total_seconds())


def _int_header(headers: Mapping[str, str], name: str) -> int:
    try:
        return max(0, int(headers.get(name, "0")))
    except ValueError:
        return 0


def _date_header(headers: Mapping[str, str], name: str) -> datetime | None:
    # An invalid date (RFC 9111 names "Expires: 0") means "already expired".
    try:
        value = parsedate_to_datetime(headers.get(name, ""))
    except (TypeError, ValueError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
