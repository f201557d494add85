"""The providers' token endpoint (RFC 6749 section 4.1.3 and 6): a consent's code exchanged
for tokens (with its PKCE verifier), and a refresh token for a fresh access token.

Errors: an OAuth error answer (400/401 with `{"error": ...}`) is OAuthRefused carrying the
provider's code (`invalid_grant` for a revoked grant) and description; no answer, a 5xx or
an unreadable body is ServiceUnavailable. No message carries a token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from emailsched.domain.oauth import ProviderEndpoints
from emailsched.errors import OAuthRefused, ServiceUnavailable

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class TokenAnswer:
    access_token: str = field(repr=False)
    expires_in: float
    refresh_token: str | None = field(default=None, repr=False)  # a rotated or first one
    id_token: str | None = field(default=None, repr=False)
    scope: str = ""


@dataclass(frozen=True)
class OAuthClient:
    """One provider's client registration: its id and secret (the secret may be empty for
    a public client)."""

    client_id: str
    client_secret: str = field(repr=False, default="")


class TokenEndpoint:
    """Calls a token endpoint; thread-safe (one requests.Session per instance)."""

    def __init__(self, session: requests.Session | None = None,
                 timeout: float = TIMEOUT_SECONDS):
        self._session = session or requests.Session()
        self._timeout = timeout

    def exchange(self, provider: ProviderEndpoints, client: OAuthClient, code: str,
                 verifier: str, redirect_uri: str) -> TokenAnswer:
        return self._post(provider, client, {
            "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": redirect_uri})

    def refresh(self, provider: ProviderEndpoints, client: OAuthClient,
                refresh_token: str) -> TokenAnswer:
        return self._post(provider, client, {"grant_type": "refresh_token",
                                             "refresh_token": refresh_token,
                                             "scope": provider.scopes})

    def _post(self, provider: ProviderEndpoints, client: OAuthClient,
              form: dict[str, str]) -> TokenAnswer:
        body = {**form, "client_id": client.client_id}
        if client.client_secret:
            body["client_secret"] = client.client_secret
        try:
            answer = self._session.post(provider.token_url, data=body, timeout=self._timeout,
                                        headers={"Accept": "application/json"})
        except requests.RequestException as error:
            raise ServiceUnavailable(f"{provider.name}'s token endpoint cannot be reached: "
                                     f"{error.__class__.__name__}") from None
        document = _json(answer)
        if answer.status_code in (400, 401) and isinstance(document.get("error"), str):
            code = document["error"]
            text = str(document.get("error_description") or code)[:300]
            raise OAuthRefused(f"{provider.name} refused: {code}: {text}", error=code)
        if answer.status_code != 200 or not isinstance(document.get("access_token"), str):
            raise ServiceUnavailable(f"{provider.name}'s token endpoint answered HTTP "
                                     f"{answer.status_code}")
        return _answer(document)


def _json(answer: requests.Response) -> dict[str, Any]:
    try:
        document = answer.json()
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _answer(document: dict[str, Any]) -> TokenAnswer:
    try:
        expires_in = float(document.get("expires_in", 3600))
    except (TypeError, ValueError):
        expires_in = 3600.0
    refresh = document.get("refresh_token")
    id_token = document.get("id_token")
    return TokenAnswer(document["access_token"], expires_in,
                       refresh if isinstance(refresh, str) and refresh else None,
                       id_token if isinstance(id_token, str) else None,
                       str(document.get("scope", "")))
