"""StoredAccountVerifier on AWS: the API asks the `verifier` function (functions/app.py),
synchronously, to check a stored sender account. The API's role may encrypt under the
credentials key but not decrypt; the verifier's may decrypt, and the API may invoke only it.

Both sides of the wire are here: `invoke` for the API, `answer` for the function. The event
names the user and the sender (never a password: the function reads the account from the
ledger itself); the answer is `{"ok": true}` or the project error to raise again.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from emailsched.errors import (
    AccountUnverified,
    ConfigurationError,
    CredentialsUnreadable,
    EmailschedError,
    NotFound,
    ServiceUnavailable,
)
from emailsched.ports import StoredAccountVerifier

# The errors the function answers with, by code; anything else it raises (a FunctionError
# the API sees as a brief outage).
_ANSWERED: dict[str, type[EmailschedError]] = {
    error.code: error for error in (NotFound, ConfigurationError, CredentialsUnreadable,
                                    ServiceUnavailable)}


def make_lambda_client(region: str, endpoint_url: str | None, timeout: float) -> Any:
    import boto3
    from botocore.config import Config

    # One attempt: a verify is a user's click, and the function's own timeout bounds it.
    config = Config(read_timeout=timeout, connect_timeout=5,
                    retries={"max_attempts": 1, "mode": "standard"})
    return boto3.client("lambda", region_name=region, endpoint_url=endpoint_url,
                        config=config)


class LambdaStoredAccountVerifier:
    def __init__(self, client: Any, function_name: str):
        self._client, self._function = client, function_name

    def verify_stored(self, user_id: uuid.UUID, sender_id: uuid.UUID) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        event = {"userId": str(user_id), "senderId": str(sender_id)}
        try:
            answer = self._client.invoke(FunctionName=self._function,
                                         InvocationType="RequestResponse",
                                         Payload=json.dumps(event).encode())
            payload = answer["Payload"].read()
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            raise ServiceUnavailable(f"the verifier function: {code}") from error
        except BotoCoreError as error:
            raise ServiceUnavailable(f"the verifier function: {error}") from error
        if answer.get("FunctionError"):
            raise ServiceUnavailable("the verifier function failed "
                                     f"({answer['FunctionError']})")
        raise_answer(json.loads(payload or b"null"))


def raise_answer(answer: Any) -> None:
    """The API's side: nothing for an ok, the function's error raised again."""
    if not isinstance(answer, dict):
        raise ServiceUnavailable("the verifier function answered nothing readable")
    if answer.get("ok") is True:
        return
    message = str(answer.get("message", ""))
    if answer.get("code") == AccountUnverified.code:
        reply = answer.get("replyCode")
        raise AccountUnverified(message, stage=str(answer.get("stage", "connect")),
                                reply_code=reply if isinstance(reply, int) else None)
    raise _ANSWERED.get(str(answer.get("code")), ServiceUnavailable)(message)


def answer(event: Any, check: StoredAccountVerifier) -> dict[str, Any]:
    """The verifier function's side: checks the account the event names."""
    try:
        user_id = uuid.UUID(str(event["userId"]))
        sender_id = uuid.UUID(str(event["senderId"]))
    except (KeyError, TypeError, ValueError):
        return {"ok": False, "code": NotFound.code, "message": "no such sender"}
    try:
        check.verify_stored(user_id, sender_id)
    except AccountUnverified as error:
        return {"ok": False, "code": error.code, "message": error.message,
                "stage": error.stage, "replyCode": error.reply_code}
    except tuple(_ANSWERED.values()) as error:
        return {"ok": False, "code": error.code, "message": error.message}
    return {"ok": True}
