"""The verifier function's wire (adapters/account_verifier.py): what the API gets back from
a synchronous invoke is the error the function's check raised, or nothing."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emailsched.adapters.account_verifier import LambdaStoredAccountVerifier, answer
from emailsched.errors import (
    AccountUnverified,
    CredentialsUnreadable,
    NotFound,
    ServiceUnavailable,
)

USER, SENDER = uuid.uuid4(), uuid.uuid4()


class Check:
    def __init__(self, error: Exception | None = None):
        self.error, self.seen = error, []

    def verify_stored(self, user_id: uuid.UUID, sender_id: uuid.UUID) -> None:
        self.seen.append((user_id, sender_id))
        if self.error is not None:
            raise self.error


class FakeLambda:
    """boto3's Lambda client as far as invoke goes, running `handler` in-process."""

    def __init__(self, handler: Any, function_error: str | None = None):
        self.handler, self.function_error, self.calls = handler, function_error, []

    def invoke(self, **call: Any) -> dict[str, Any]:
        self.calls.append(call)
        result = self.handler(json.loads(call["Payload"]), None)
        found = {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(result).encode())}
        if self.function_error:
            found["FunctionError"] = self.function_error
        return found


def _verifier(check: Check, **fake: Any) -> tuple[LambdaStoredAccountVerifier, FakeLambda]:
    client = FakeLambda(lambda event, context: answer(event, check), **fake)
    return LambdaStoredAccountVerifier(client, "emailsched-prod-verifier"), client


def test_an_accepted_account_answers_ok_through_one_synchronous_invoke() -> None:
    check = Check()
    verifier, client = _verifier(check)
    verifier.verify_stored(USER, SENDER)
    assert check.seen == [(USER, SENDER)]
    [call] = client.calls
    assert call["FunctionName"] == "emailsched-prod-verifier"
    assert call["InvocationType"] == "RequestResponse"
    # The event names the account; no password crosses the wire.
    assert json.loads(call["Payload"]) == {"userId": str(USER), "senderId": str(SENDER)}


def test_a_refusal_comes_back_as_the_same_account_unverified() -> None:
    verifier, _ = _verifier(Check(AccountUnverified("535 5.7.8 bad credentials", stage="auth",
                                                    reply_code=535)))
    with pytest.raises(AccountUnverified) as raised:
        verifier.verify_stored(USER, SENDER)
    error = raised.value
    assert (error.message, error.stage, error.reply_code) == (
        "535 5.7.8 bad credentials", "auth", 535)
    assert error.status == 422


@pytest.mark.parametrize("error", [NotFound("no such sender"),
                                   CredentialsUnreadable("KMS could not decrypt"),
                                   ServiceUnavailable("the ledger is unreachable")])
def test_project_errors_come_back_by_code(error: Exception) -> None:
    verifier, _ = _verifier(Check(error))
    with pytest.raises(type(error)) as raised:
        verifier.verify_stored(USER, SENDER)
    assert raised.value.message == error.message  # type: ignore[attr-defined]


def test_a_malformed_event_is_no_such_sender() -> None:
    assert answer({"senderId": "nope"}, Check())["code"] == "not_found"


def test_a_crashed_function_or_a_refused_invoke_is_a_brief_outage() -> None:
    verifier, _ = _verifier(Check(), function_error="Unhandled")
    with pytest.raises(ServiceUnavailable):
        verifier.verify_stored(USER, SENDER)

    class Refusing:
        def invoke(self, **call: Any) -> Any:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}},
                              "Invoke")

    with pytest.raises(ServiceUnavailable, match="AccessDeniedException"):
        LambdaStoredAccountVerifier(Refusing(), "f").verify_stored(USER, SENDER)


def test_the_api_invokes_the_verifier_where_verifier_function_name_is_set() -> None:
    from emailsched.adapters.account_verifier import LambdaStoredAccountVerifier as Lambda
    from emailsched.bootstrap import Container
    from emailsched.services.senders import StoredAccountCheck
    from emailsched.settings import Settings

    base = {"DATABASE_URL": "postgresql+pg8000://x@127.0.0.1/x", "REDIS_URL": "redis://x",
            "SESSION_SECRET": "s" * 32, "AWS_REGION": "us-east-1"}
    on_aws = Container(Settings(**base, VERIFIER_FUNCTION_NAME="emailsched-prod-verifier"))
    assert isinstance(on_aws.stored_account_verifier, Lambda)
    local = Container(Settings(**base))
    assert isinstance(local.stored_account_verifier, StoredAccountCheck)
