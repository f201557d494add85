"""GoogleTokenVerifier against real keys, real certificates served over HTTP and real tokens."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import jwt as pyjwt
import pytest

from emailsched.adapters.google_tokens import (
    UNKNOWN_KEY_REFETCH_COOLDOWN_SECONDS,
    GoogleIdentity,
    GoogleTokenVerifier,
    freshness_seconds,
)
from emailsched.errors import ServiceUnavailable, Unauthenticated
from tests.support.google_keys import (
    TEST_CLIENT_ID,
    GoogleCertServer,
    SigningKey,
    google_cert_server,
    google_signing_key,
    make_google_token,
    make_signing_key,
)

pytestmark = pytest.mark.integration

# The fixtures are used by name only; listing them keeps the import. Drop this (and the two
# names above) once conftest registers tests.support.google_keys as a plugin.
__all__ = ["google_cert_server", "google_signing_key"]


class FakeMonotonic:
    """A monotonic clock the test moves by hand, so cache lifetimes need no sleeping."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def verifier(google_cert_server: GoogleCertServer, clock: FakeMonotonic) -> GoogleTokenVerifier:
    return GoogleTokenVerifier(TEST_CLIENT_ID, google_cert_server.url, monotonic=clock)


def rejection(verifier: GoogleTokenVerifier, credential: str) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(credential)
    return caught.value


def segment(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# --- accepted tokens -------------------------------------------------------------------------


def test_valid_token_yields_the_google_identity(
    verifier: GoogleTokenVerifier, google_signing_key: SigningKey
) -> None:
    token = make_google_token(
        google_signing_key,
        sub="42",
        email="ada@example.com",
        name="Ada Lovelace",
        picture="https://pics.example/ada",
    )

    assert verifier.verify(token) == GoogleIdentity(
        sub="42", email="ada@example.com", name="Ada Lovelace", picture="https://pics.example/ada"
    )


@pytest.mark.parametrize("issuer", ["accounts.google.com", "https://accounts.google.com"])
def test_both_spellings_of_googles_issuer_are_accepted(
    verifier: GoogleTokenVerifier, google_signing_key: SigningKey, issuer: str
) -> None:
    assert verifier.verify(make_google_token(google_signing_key, iss=issuer)).sub


def test_name_falls_back_to_email_and_picture_to_none_when_absent(
    verifier: GoogleTokenVerifier, google_signing_key: SigningKey
) -> None:
    token = make_google_token(google_signing_key, email="bo@example.com", name=None, picture=None)

    identity = verifier.verify(token)

    assert (identity.name, identity.picture) == ("bo@example.com", None)


def test_token_expired_within_the_clock_skew_is_still_accepted(
    verifier: GoogleTokenVerifier, google_signing_key: SigningKey
) -> None:
    assert verifier.verify(make_google_token(google_signing_key, exp_delta=-3)).sub


# --- rejected tokens -------------------------------------------------------------------------


def test_token_for_another_client_is_rejected(
    verifier: GoogleTokenVerifier, google_signing_key: SigningKey
) -> None:
    token = make_google_token(google_signing_key, aud="someone-else.apps.googleusercontent.com")

    assert rejection(verifier, token).message == "token was issued for another client"


def test_token_from_another_issuer_is_rejected(
    verifier: GoogleTokenVerifier, google_signing_key: SigningKey
) -> None:
    token = make_google_token(google_signing_key, iss="https://evil.example.com")

    assert rejection(verifier, token).message == "token issuer is not Google"


def test_expired_token_is_rejected(
    verifier: GoogleTokenVerifier, google_signing_key: SigningKey
) -> None:
    token = make_google_token(google_signing_key, exp_delta=-60)

    assert rejection(verifier, token).message == "token has expired"


def test_token_issued_in_the_future_is_rejected(
    verifier: GoogleTokenVerifier, google_signing_key: SigningKey
) -> None:
    token = make_google_token(google_signing_key, exp_delta=7200)  # iat is an hour ahead

    assert rejection(verifier, token).message == "token is not valid yet"


def test_token_signed_by_another_key_under_a_known_kid_is_rejected(
    verifier: GoogleTokenVerifier, google_signing_key: SigningKey
) -> None:
    forger = make_signing_key()
    token = make_google_token(forger, google_signing_key.kid)

    assert rejection(verifier, token).message == "token signature is invalid"


def test_token_whose_claims_were_altered_after_signing_is_rejected(
    verifier: GoogleTokenVerifier, google_signing_key: SigningKey
) -> None:
    header, _, signature = make_google_token(google_signing_key).split(".")
    claims = pyjwt.decode(
        make_google_token(google_signing_key, email="eve@example.com"),
        options={"verify_signature": False},
    )

    token = ".".join([header, segment(claims), signature])

    assert rejection(verifier, token).message == "token signature is invalid"


def test_expired_token_with_a_bad_signature_is_rejected_for_its_signature(
    verifier: GoogleTokenVerifier, google_signing_key: SigningKey
) -> None:
    token = make_google_token(make_signing_key(), google_signing_key.kid, exp_delta=-60)

    assert rejection(verifier, token).message == "token signature is invalid"


def test_token_signed_by_an_unknown_key_is_rejected(verifier: GoogleTokenVerifier) -> None:
    token = make_google_token(make_signing_key())

    assert rejection(verifier, token).message == "token was signed by an unknown key"


@pytest.mark.parametrize("email_verified", [False, "false", None])
def test_unverified_email_is_rejected(
    verifier: GoogleTokenVerifier, google_signing_key: SigningKey, email_verified: object
) -> None:
    token = make_google_token(google_signing_key, email_verified=email_verified)  # None: absent

    assert rejection(verifier, token).message == "email address is not verified"


@pytest.mark.parametrize("missing", ["sub", "email"])
def test_token_without_a_subject_or_email_is_rejected(
    verifier: GoogleTokenVerifier, google_signing_key: SigningKey, missing: str
) -> None:
    token = make_google_token(google_signing_key, extra_claims={missing: ""})

    assert rejection(verifier, token).message == "token names no user or email address"


def hs256_token(kid: str) -> str:
    return pyjwt.encode(
        {"iat": 0, "exp": 2**40},
        "a-shared-secret-of-at-least-32-bytes!",
        algorithm="HS256",
        headers={"kid": kid},
    )


def unsigned_token(kid: str) -> str:
    return f"{segment({'alg': 'none', 'kid': kid})}.{segment({'iat': 0, 'exp': 2**40})}."


GARBAGE: dict[str, Callable[[SigningKey], str]] = {
    "empty": lambda key: "",
    "words": lambda key: "not a token at all",
    "three dots": lambda key: "a.b.c",
    "two segments": lambda key: "eyJhbGciOiJSUzI1NiJ9.e30",
    "header not json": lambda key: "bm90IGpzb24.e30.c2ln",
    "header a list": lambda key: f"{base64.urlsafe_b64encode(b'[1]').decode()}.e30.c2ln",
    "unicode": lambda key: "ünïcødé.тест.令牌",
    "hs256": lambda key: hs256_token(key.kid),
    "alg none": lambda key: unsigned_token(key.kid),
    "no kid": lambda key: pyjwt.encode({"iat": 0, "exp": 2**40}, key.private_key, "RS256"),
    "exp a string": lambda key: make_google_token(key, extra_claims={"exp": "tomorrow"}),
    "iat null": lambda key: make_google_token(key, extra_claims={"iat": None}),
}


@pytest.mark.parametrize("make", GARBAGE.values(), ids=GARBAGE.keys())
def test_anything_but_a_google_id_token_is_rejected(
    verifier: GoogleTokenVerifier,
    google_signing_key: SigningKey,
    make: Callable[[SigningKey], str],
) -> None:
    assert rejection(verifier, make(google_signing_key)).message == "not a Google ID token"


def test_rejections_never_carry_or_log_the_token(
    verifier: GoogleTokenVerifier,
    google_signing_key: SigningKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = [
        make_google_token(google_signing_key, exp_delta=-60),
        make_google_token(make_signing_key(), google_signing_key.kid),
        "x" + make_google_token(google_signing_key) + ".y",
    ]

    for token in tokens:
        error = rejection(verifier, token)
        assert error.__cause__ is None and error.__suppress_context__
        assert token not in str(error)

    assert not any(token[20:60] in caplog.text for token in tokens)


# --- the certificate cache -------------------------------------------------------------------


def test_certificates_are_fetched_once_for_many_verifications(
    verifier: GoogleTokenVerifier,
    google_signing_key: SigningKey,
    google_cert_server: GoogleCertServer,
    clock: FakeMonotonic,
) -> None:
    for _ in range(5):
        verifier.verify(make_google_token(google_signing_key))
        clock.advance(600)  # 3000 s in all, inside the served max-age of 3600

    assert google_cert_server.request_count == 1


def test_certificates_are_fetched_again_once_their_max_age_has_passed(
    verifier: GoogleTokenVerifier,
    google_signing_key: SigningKey,
    google_cert_server: GoogleCertServer,
    clock: FakeMonotonic,
) -> None:
    google_cert_server.set_max_age(60)
    verifier.verify(make_google_token(google_signing_key))
    clock.advance(59)
    verifier.verify(make_google_token(google_signing_key))
    assert google_cert_server.request_count == 1

    clock.advance(1)
    verifier.verify(make_google_token(google_signing_key))

    assert google_cert_server.request_count == 2


def test_certificates_served_with_no_cache_are_fetched_for_every_verification(
    verifier: GoogleTokenVerifier,
    google_signing_key: SigningKey,
    google_cert_server: GoogleCertServer,
) -> None:
    google_cert_server.set_cache_control("no-cache")

    for _ in range(3):
        verifier.verify(make_google_token(google_signing_key))

    assert google_cert_server.request_count == 3


def test_a_rotated_key_is_picked_up_with_a_single_refetch(
    verifier: GoogleTokenVerifier,
    google_signing_key: SigningKey,
    google_cert_server: GoogleCertServer,
    clock: FakeMonotonic,
) -> None:
    verifier.verify(make_google_token(google_signing_key))
    new_key = make_signing_key()
    google_cert_server.publish(google_signing_key, new_key)
    clock.advance(UNKNOWN_KEY_REFETCH_COOLDOWN_SECONDS)

    identity = verifier.verify(make_google_token(new_key))
    verifier.verify(make_google_token(new_key))

    assert identity.sub and google_cert_server.request_count == 2


def test_tokens_naming_unknown_keys_cannot_force_a_fetch_each(
    verifier: GoogleTokenVerifier,
    google_signing_key: SigningKey,
    google_cert_server: GoogleCertServer,
    clock: FakeMonotonic,
) -> None:
    verifier.verify(make_google_token(google_signing_key))
    clock.advance(UNKNOWN_KEY_REFETCH_COOLDOWN_SECONDS)
    stranger = make_signing_key()

    for _ in range(5):
        assert rejection(verifier, make_google_token(stranger)).message == (
            "token was signed by an unknown key"
        )

    assert google_cert_server.request_count == 2


def test_concurrent_verifications_share_one_fetch(
    verifier: GoogleTokenVerifier,
    google_signing_key: SigningKey,
    google_cert_server: GoogleCertServer,
) -> None:
    token = make_google_token(google_signing_key)
    results: list[GoogleIdentity] = []
    threads = [
        threading.Thread(target=lambda: results.append(verifier.verify(token))) for _ in range(16)
    ]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 16 and google_cert_server.request_count == 1


def test_an_unreachable_certificate_server_is_a_service_outage(
    google_signing_key: SigningKey,
) -> None:
    server = GoogleCertServer(google_signing_key).start()
    url = server.url
    server.stop()
    verifier = GoogleTokenVerifier(TEST_CLIENT_ID, url)

    with pytest.raises(ServiceUnavailable):
        verifier.verify(make_google_token(google_signing_key))


def test_a_certificate_server_answering_an_error_is_a_service_outage(
    google_signing_key: SigningKey,
    google_cert_server: GoogleCertServer,
) -> None:
    verifier = GoogleTokenVerifier(TEST_CLIENT_ID, google_cert_server.url + "/missing")

    with pytest.raises(ServiceUnavailable):
        verifier.verify(make_google_token(google_signing_key))


def test_a_certificate_document_that_is_not_certificates_is_a_service_outage(
    google_signing_key: SigningKey,
    google_cert_server: GoogleCertServer,
) -> None:
    google_cert_server.publish()  # an empty {} document
    verifier = GoogleTokenVerifier(TEST_CLIENT_ID, google_cert_server.url)

    with pytest.raises(ServiceUnavailable):
        verifier.verify(make_google_token(google_signing_key))


NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Cache-Control": "public, max-age=19677, must-revalidate, no-transform"}, 19677),
        ({"Cache-Control": "public, max-age=100", "Age": "30"}, 70),
        ({"Cache-Control": "max-age=100", "Age": "300"}, 0),
        ({"Cache-Control": "no-store, max-age=100"}, 0),
        ({"Cache-Control": "max-age=soon"}, 0),
        ({"Expires": "Wed, 01 Jan 2025 13:00:00 GMT"}, 3600),
        (
            {"Expires": "Wed, 01 Jan 2025 13:00:00 GMT", "Date": "Wed, 01 Jan 2025 12:30:00 GMT"},
            1800,
        ),
        ({"Expires": "0"}, 0),
        ({}, 0),
    ],
)
def test_freshness_follows_the_http_cache_headers(headers: dict[str, str], seconds: float) -> None:
    assert freshness_seconds(headers, NOW) == seconds
