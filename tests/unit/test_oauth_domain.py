"""domain/oauth.py: the consent's PKCE pair and URL, the ID token's address, the providers'
daily caps, OAUTH_PROVIDER_ENDPOINTS, and how long an access token is used."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import parse_qs, urlparse

import pytest

from emailsched.domain import oauth
from emailsched.domain.senders import Security

pytestmark = pytest.mark.unit
KEY = b"k" * 32


def id_token(claims: dict[str, object]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJSUzI1NiJ9.{body}.signature"


def test_the_verifier_is_43_characters_bound_to_the_state_and_the_key():
    verifier = oauth.code_verifier(KEY, "state-1")
    assert len(verifier) == 43
    assert verifier == oauth.code_verifier(KEY, "state-1")
    assert verifier != oauth.code_verifier(KEY, "state-2")
    assert verifier != oauth.code_verifier(b"x" * 32, "state-1")


def test_the_challenge_is_s256_of_the_verifier_as_rfc_7636_appendix_b_shows():
    assert (oauth.code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
            == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")


def test_states_are_fresh_and_stored_only_as_their_hash():
    first, second = oauth.new_state(), oauth.new_state()
    assert first != second and len(first) >= 43
    assert oauth.state_hash(first) == hashlib.sha256(first.encode()).hexdigest()


@pytest.mark.parametrize(("provider", "asks"), [
    ("google", {"access_type": "offline", "prompt": "consent"}),
    ("microsoft", {"prompt": "select_account"}),
])
def test_the_consent_url_asks_for_the_mail_scopes_offline_with_pkce(provider, asks):
    found = oauth.default_endpoints(provider)
    url = oauth.authorization_url(found, "client", "https://api.test/cb", "st", "ch")
    query = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    assert query["code_challenge_method"] == "S256" and query["code_challenge"] == "ch"
    assert query["state"] == "st" and query["redirect_uri"] == "https://api.test/cb"
    assert query["response_type"] == "code" and query["client_id"] == "client"
    assert {"openid", "email"} <= set(query["scope"].split())
    assert asks.items() <= query.items()
    if provider == "microsoft":
        assert "offline_access" in query["scope"].split()
        assert "https://outlook.office.com/SMTP.Send" in query["scope"]
    else:
        assert "https://mail.google.com/" in query["scope"]


def test_the_address_is_the_email_claim_or_microsofts_preferred_username():
    assert oauth.mailbox_address("google", id_token({"email": "A@X.example"})) == "a@x.example"
    assert oauth.mailbox_address("microsoft", id_token(
        {"preferred_username": "b@y.example"})) == "b@y.example"
    assert oauth.mailbox_address("google", id_token({"preferred_username": "b@y.example"})
                                 ) is None
    assert oauth.mailbox_address("google", id_token({"sub": "1"})) is None
    assert oauth.mailbox_address("google", "not-a-jwt") is None
    assert oauth.mailbox_address("google", None) is None


@pytest.mark.parametrize(("provider", "email", "limit"), [
    ("google", "me@gmail.com", 500), ("google", "me@googlemail.com", 500),
    ("google", "me@acme.example", 2000), ("microsoft", "me@acme.example", 10_000)])
def test_the_providers_daily_caps_are_suggested(provider, email, limit):
    assert oauth.suggested_daily_limit(provider, email) == limit


@pytest.mark.parametrize(("expires_in", "used_for"), [
    (3600, 3540), (600, 540), (300, 270), (10, 9), (5, 4.5)])
def test_a_token_is_used_until_60_s_or_a_tenth_of_its_life_before_it_ends(expires_in,
                                                                          used_for):
    assert oauth.reuse_seconds(expires_in) == pytest.approx(used_for)


def test_provider_endpoints_can_be_overridden_one_key_at_a_time():
    found = oauth.endpoints("google", json.dumps(
        {"google": {"tokenUrl": "http://127.0.0.1:9/token", "smtpPort": "2525",
                    "smtpSecurity": "none", "imapHost": ""}}))
    assert found.token_url == "http://127.0.0.1:9/token" and found.smtp_port == 2525
    assert found.smtp_security is Security.NONE and found.imap_host == ""
    assert found.smtp_host == "smtp.gmail.com"
    assert oauth.endpoints("microsoft", "", "contoso").token_url == (
        "https://login.microsoftonline.com/contoso/oauth2/v2.0/token")


@pytest.mark.parametrize("text", ["{", "[]", '{"yahoo": {}}', '{"google": {"smtp": 1}}'])
def test_a_bad_override_is_refused_naming_the_setting(text):
    with pytest.raises(oauth.OAuthSetupError, match="OAUTH_PROVIDER_ENDPOINTS"):
        oauth.parse_overrides(text)


def test_the_xoauth2_response_is_the_providers_format():
    assert oauth.xoauth2("a@x", "tok") == "user=a@x\x01auth=Bearer tok\x01\x01"
