"""Checks a stage's function environment against emailsched.settings before deploying it,
so a bad value fails here, naming the variable, rather than at the first cold start."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from emailsched.settings import Settings
from emailsched_infra.stack import SECRET_KEYS

# Set by deploy.py itself, or by Lambda (AWS_REGION), or meant for emulators only.
DERIVED = {"SEND_QUEUE_NAME"}


class _StageSettings(Settings):
    """Settings read from the values given, not from this machine's environment or .env."""

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   *_: Any, **__: Any) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def check_names(settings: Mapping[str, str]) -> None:
    """Refuse `--set` names that are not settings or that deploy.py sets another way."""
    for name in settings:
        if name in SECRET_KEYS:
            raise SystemExit(f"{name} is a secret: export it for the run instead of --set")
        if name in DERIVED or name.startswith("AWS_"):
            raise SystemExit(f"{name} is set by the deployment itself")
        if name not in Settings.model_fields:
            raise SystemExit(f"{name} is not a setting (see emailsched/settings.py)")


def check_values(environment: Mapping[str, str]) -> None:
    """Validate the environment the API function will see (the widest of the three)."""
    try:
        settings = _StageSettings.model_validate(dict(environment))
        settings.require_api_secrets()
    except (ValidationError, ValueError) as error:
        raise SystemExit(f"stage settings: {error}") from None
