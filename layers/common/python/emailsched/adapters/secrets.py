"""Secret settings from AWS Secrets Manager, read once per process at cold start.

With APP_SECRET_ARN set, the settings model (emailsched.settings) asks this source for
every field the arguments, the environment and .env left unset; it answers from the JSON
object in the secret's SecretString (DATABASE_URL, REDIS_URL, SESSION_SECRET,
SMTP_PASSWORD, ...). The secret is fetched at most once per process and ARN, so a rotated
value takes effect at the next cold start. deploy.py puts only the ARN in the functions'
environment and grants each role secretsmanager:GetSecretValue on that one ARN.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from emailsched.errors import ConfigurationError

_lock = threading.Lock()
_fetched: dict[str, dict[str, str]] = {}


def read_secret(arn: str, region: str | None = None,
                endpoint_url: str | None = None) -> dict[str, str]:
    """The secret's JSON object, fetched once per process."""
    with _lock:
        if arn not in _fetched:
            import boto3
            from botocore.exceptions import BotoCoreError, ClientError

            region = region or _region_of(arn)
            client = boto3.client("secretsmanager", region_name=region, endpoint_url=endpoint_url)
            try:
                text = client.get_secret_value(SecretId=arn)["SecretString"]
                values = json.loads(text)
            except (BotoCoreError, ClientError, ValueError, KeyError) as error:
                raise ConfigurationError(
                    f"APP_SECRET_ARN {arn}: cannot read the secret "
                    f"({type(error).__name__}: {error})") from None
            if not isinstance(values, dict):
                raise ConfigurationError(f"APP_SECRET_ARN {arn}: the secret is not a JSON object")
            _fetched[arn] = {str(k): str(v) for k, v in values.items() if v is not None}
        return dict(_fetched[arn])


def forget_secrets() -> None:
    """Tests: make the next read fetch again (what a new container does)."""
    with _lock:
        _fetched.clear()


def _region_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if arn.startswith("arn:") and len(parts) > 3 else None


class SecretsManagerSource(PydanticBaseSettingsSource):
    """A pydantic-settings source that fills unset fields from APP_SECRET_ARN's secret."""

    def __init__(self, settings_cls: type[BaseSettings]):
        super().__init__(settings_cls)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ does the work

    def __call__(self) -> dict[str, Any]:
        state = dict(self.current_state)
        arn = state.get("APP_SECRET_ARN") or os.environ.get("APP_SECRET_ARN")
        if not arn:
            return {}
        endpoint = state.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL")
        region = (state.get("AWS_REGION") or os.environ.get("AWS_REGION")
                  or os.environ.get("AWS_DEFAULT_REGION"))
        values = read_secret(str(arn), region, endpoint)
        fields = self.settings_cls.model_fields
        return {name: value for name, value in values.items()
                if name in fields and state.get(name) in (None, "")}
