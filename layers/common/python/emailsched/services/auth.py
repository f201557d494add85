"""Sign-in and sessions.

Session tokens are JWTs signed with HS256 and SESSION_SECRET, carrying the user id and an
expiry. They are stateless: logging out drops the token in the browser, and a stolen token
stays valid until it expires, which is why SESSION_TTL_SECONDS is short (hours, not weeks).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import jwt

from emailsched.domain import api_keys
from emailsched.domain.records import User
from emailsched.errors import InsufficientScope, NotFound, Unauthenticated
from emailsched.ports import AccountStore, Clock

ISSUER = "emailsched"


class IdentityVerifier(Protocol):
    def verify(self, credential: str) -> GoogleLikeIdentity: ...


class GoogleLikeIdentity(Protocol):
    @property
    def sub(self) -> str: ...

    @property
    def email(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def picture(self) -> str | None: ...


class KeyLookup(Protocol):
    def lookup(self, hashed: bytes) -> tuple[User, frozenset[str]] | None: ...


@dataclass(frozen=True)
class Principal:
    """Who a request is from: a session (scopes None: everything) or an API key."""

    user: User
    scopes: frozenset[str] | None = None

    def __getattr__(self, name: str) -> Any:
        # The user's own fields (id, email, ...): code written when authenticate() returned
        # the User itself keeps working. Not for `user` itself or dunders (copy, pickle).
        if name == "user" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.user, name)

    def require(self, scope: str) -> None:
        if not api_keys.allows(self.scopes, scope):
            needed = ("a signed-in session (API keys cannot do this)"
                      if scope == api_keys.SESSION else f"an API key with the {scope} scope")
            raise InsufficientScope(f"this route needs {needed}")


@dataclass(frozen=True)
class Session:
    token: str
    user: User


class TokenSigner:
    def __init__(self, secret: str, ttl: timedelta, clock: Clock):
        self._secret, self._ttl, self._clock = secret, ttl, clock

    def issue(self, user_id: uuid.UUID) -> str:
        now = self._clock.now()
        claims = {"sub": str(user_id), "iss": ISSUER, "iat": int(now.timestamp()),
                  "exp": int((now + self._ttl).timestamp())}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> uuid.UUID:
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], issuer=ISSUER,
                                options={"require": ["exp", "sub", "iss"]})
            return uuid.UUID(claims["sub"])
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("session has expired; sign in again") from None
        except (jwt.InvalidTokenError, ValueError):
            raise Unauthenticated("invalid session token") from None


class AuthService:
    def __init__(self, accounts: AccountStore, signer: TokenSigner, *, dev_login_enabled: bool,
                 google: IdentityVerifier | None, keys: KeyLookup | None = None):
        self._accounts, self._signer, self._keys = accounts, signer, keys
        self._dev_login_enabled, self._google = dev_login_enabled, google

    def dev_login(self, email: str, name: str) -> Session:
        if not self._dev_login_enabled:
            raise NotFound("dev login is off (AUTH_MODE is not dev)")
        user = self._accounts.upsert_user_by_email(email, name)
        return Session(self._signer.issue(user.id), user)

    def google_login(self, credential: str) -> Session:
        if self._google is None:
            raise Unauthenticated("Google sign-in is not configured (GOOGLE_CLIENT_ID)")
        identity = self._google.verify(credential)
        user = self._accounts.upsert_user_by_google_sub(
            identity.sub, identity.email.lower(), identity.name, identity.picture)
        if user is None:
            raise Unauthenticated("this email address belongs to another Google account")
        return Session(self._signer.issue(user.id), user)

    def authenticate(self, authorization: str | None) -> Principal:
        """The user a `Bearer <session token or API key>` header names, with the key's
        scopes; or Unauthenticated."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("missing bearer token (Authorization: Bearer <token>)")
        if api_keys.looks_like_key(token):
            return self._by_key(token)
        user = self._accounts.get_user(self._signer.verify(token))
        if user is None:
            raise Unauthenticated("the session's user no longer exists")
        return Principal(user)

    def _by_key(self, key: str) -> Principal:
        found = None
        if self._keys is not None and api_keys.KEY_SHAPE.match(key):
            found = self._keys.lookup(api_keys.key_hash(key))
        if found is None:
            raise Unauthenticated("unknown or deleted API key")
        return Principal(*found)
