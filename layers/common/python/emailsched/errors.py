"""One root exception; each subclass names what went wrong and carries its HTTP meaning.

The API maps these to SPEC.md's error body in one place (emailsched.api.responses); adapters
translate driver errors into them so services never see a psycopg, redis or smtplib error.
"""

from __future__ import annotations

from typing import Any


class EmailschedError(Exception):
    """Something went wrong in emailsched."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str | None = None, details: list[dict[str, Any]] | None = None):
        super().__init__(message or (self.__doc__ or self.code).strip())
        self.message = message or (self.__doc__ or self.code).strip()
        self.details = details or []


class InvalidRequest(EmailschedError):
    """The request is malformed or invalid."""

    status = 400
    code = "invalid_request"


class Unauthenticated(EmailschedError):
    """A valid bearer token is required."""

    status = 401
    code = "unauthenticated"


class Forbidden(EmailschedError):
    """This credential may not do that."""

    status = 403
    code = "forbidden"


class InsufficientScope(Forbidden):
    """This API key's scopes do not allow this route."""

    code = "insufficient_scope"


class NotFound(EmailschedError):
    """No such object."""

    status = 404
    code = "not_found"


class Conflict(EmailschedError):
    """That change does not apply in the object's current state."""

    status = 409
    code = "conflict"


class UnsupportedMediaType(EmailschedError):
    """The request body must be JSON (Content-Type: application/json)."""

    status = 415
    code = "unsupported_media_type"


class PayloadTooLarge(EmailschedError):
    """The request is too large."""

    status = 413
    code = "payload_too_large"


class TooManyRequests(EmailschedError):
    """Too many requests; try again later."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str | None = None, retry_after_seconds: int = 60):
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ServiceUnavailable(EmailschedError):
    """A backing service is unavailable; try again shortly."""

    status = 503
    code = "service_unavailable"


class ConfigurationError(EmailschedError):
    """The deployment is misconfigured; the message names the setting to fix."""

    status = 500
    code = "configuration_error"


class CredentialsUnreadable(EmailschedError):
    """A stored credential does not decrypt (altered, moved, or under another key)."""

    status = 500
    code = "credentials_unreadable"


class AccountUnverified(EmailschedError):
    """The mail server did not accept the account.

    The message is the server's reply or the connection error; `stage` says how far the
    check got (connect or auth), `reply_code` is the SMTP code when there was a reply.
    """

    status = 422
    code = "sender_unverified"

    def __init__(self, message: str, stage: str = "connect", reply_code: int | None = None):
        super().__init__(message)
        self.stage = stage
        self.reply_code = reply_code


class PoisonMessage(EmailschedError):
    """A queue message that can never be processed (not JSON, or names no email)."""


class ProviderNotConfigured(NotFound):
    """That OAuth provider is not configured on this deployment (no client id)."""

    code = "provider_not_configured"


class OAuthRefused(EmailschedError):
    """The OAuth provider refused a grant (a code, or a refresh token).

    `error` is the provider's OAuth error code (RFC 6749 5.2), e.g. `invalid_grant` for a
    refresh token that was revoked; the message never carries a token.
    """

    status = 502
    code = "oauth_refused"

    def __init__(self, message: str, error: str = ""):
        super().__init__(message)
        self.error = error

    @property
    def revoked(self) -> bool:
        return self.error == "invalid_grant"
