"""/senders: request bodies to service inputs, sender accounts to SPEC.md's `Sender`."""

from __future__ import annotations

import uuid

from chalice import Response

from emailsched.api import schemas
from emailsched.api.http import iso, json_response
from emailsched.domain.recipients import normalise_address
from emailsched.domain.senders import MailServer
from emailsched.errors import InvalidRequest
from emailsched.services.senders import AccountInput, SenderInput, SenderView


def _address(value: str) -> str:
    try:
        return normalise_address(value)
    except ValueError as error:
        raise InvalidRequest("email is not a valid address", details=[
            {"field": "email", "message": str(error)}]) from None


def _account(block: schemas.MailAccountIn | None) -> AccountInput | None:
    if block is None:
        return None
    return AccountInput(block.host.strip(), block.port, block.security, block.username,
                        block.password)


def create_input(body: schemas.SenderCreateIn) -> SenderInput:
    return SenderInput(email=_address(body.email), name=body.name.strip(),
                       smtp=_account(body.smtp), imap=_account(body.imap),
                       hourly_limit=body.hourly_limit, daily_limit=body.daily_limit,
                       min_delay_ms=body.min_delay_ms, timezone=body.timezone)


def patch_changes(body: schemas.SenderPatchIn) -> dict[str, object]:
    """The fields the PATCH named; smtp/imap null removes the block."""
    changes: dict[str, object] = {}
    for name in body.model_fields_set - {"dkim_selector"}:  # the route sets it apart
        value = getattr(body, name)
        if name in ("smtp", "imap"):
            changes[name] = _account(value)
        elif name == "email":
            if value is None:
                raise InvalidRequest("email cannot be removed", details=[
                    {"field": "email", "message": "must be an address"}])
            changes[name] = _address(value)
        elif name in ("name", "timezone") and value is None:
            changes[name] = "" if name == "name" else "UTC"
        else:
            changes[name] = value.strip() if name == "name" else value
    return changes


def _server(server: MailServer | None) -> schemas.MailServerOut | None:
    if server is None:
        return None
    return schemas.MailServerOut(host=server.host, port=server.port,
                                 security=server.security.value, username=server.username)


def _sender(view: SenderView, selector: str | None = None) -> schemas.SenderAccountOut:
    a = view.account
    return schemas.SenderAccountOut(
        id=str(a.id), email=a.email, name=a.name, kind=a.kind,
        smtp=_server(a.smtp), imap=_server(a.imap), hourly_limit=a.limits.hourly_limit,
        daily_limit=a.limits.daily_limit, min_delay_ms=a.limits.min_delay_ms,
        timezone=a.limits.timezone, status=a.status,
        last_error=a.last_error, sent_today=view.sent_today, created_at=iso(a.created_at) or "",
        oauth=_oauth(view), dkim_selector=selector)


def _oauth(view: SenderView) -> schemas.OAuthConnectionOut | None:
    a = view.account
    if a.kind not in ("google", "microsoft") or a.oauth_connected_at is None:
        return None
    return schemas.OAuthConnectionOut(provider=a.kind, scopes=(a.oauth_scopes or "").split(),
                                      connected_at=iso(a.oauth_connected_at) or "")


def sender(view: SenderView, status: int = 200, selector: str | None = None) -> Response:
    return json_response(_sender(view, selector), status)


def sender_list(views: list[SenderView], selectors: dict[uuid.UUID, str]) -> Response:
    return json_response(schemas.SenderAccountListOut(
        senders=[_sender(v, selectors.get(v.account.id)) for v in views]))


def domain_health(answer: dict[str, object]) -> Response:
    return json_response(schemas.SenderDnsOut.model_validate(answer))
