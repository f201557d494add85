"""deploy.py's choices and checks, without AWS."""

from __future__ import annotations

from typing import Any

import pytest
from emailsched_infra.chalice_config import StageChoices, resolve, stage_config
from emailsched_infra.policies import concrete_refs, function_policies
from emailsched_infra.settings_check import check_names
from emailsched_infra.stage import Stage

pytestmark = pytest.mark.unit

STAGE = Stage("prod", "eu-west-1")


def _recorded(**choices: Any) -> dict[str, Any]:
    resolved = resolve(StageChoices(**choices), {}, STAGE)
    entry = stage_config(STAGE, resolved, "arn:aws:lambda:eu-west-1:1:layer:l:1")
    return {"stages": {"prod": entry}}


def test_flags_not_given_keep_what_the_stage_recorded() -> None:
    config = _recorded(memory_mb=2048, sender_concurrency=8, settings={"LOG_LEVEL": "DEBUG"})
    again = resolve(StageChoices(), config, STAGE)
    assert (again.memory_mb, again.sender_concurrency) == (2048, 8)
    assert again.settings == {"LOG_LEVEL": "DEBUG"}


def test_a_flag_overrides_and_unset_removes() -> None:
    config = _recorded(settings={"LOG_LEVEL": "DEBUG", "AUTH_MODE": "google"})
    again = resolve(StageChoices(memory_mb=256, unset=["LOG_LEVEL"]), config, STAGE)
    assert again.memory_mb == 256
    assert again.settings == {"AUTH_MODE": "google"}


def test_a_new_stage_gets_the_defaults() -> None:
    fresh = resolve(StageChoices(), {}, STAGE)
    assert (fresh.memory_mb, fresh.sender_concurrency, fresh.batching_window_seconds) == (
        512, 5, 1)
    assert not fresh.vpc


@pytest.mark.parametrize("choices", [StageChoices(sender_concurrency=1),
                                     StageChoices(subnet_ids=["subnet-1"]),
                                     StageChoices(rds_proxy=True),
                                     StageChoices(public_url="api.example.com")])
def test_impossible_choices_are_refused(choices: StageChoices) -> None:
    with pytest.raises(SystemExit):
        resolve(choices, {}, STAGE)


@pytest.mark.parametrize("name", ["DATABASE_URL", "SESSION_SECRET", "SEND_QUEUE_NAME",
                                  "AWS_ENDPOINT_URL", "NOT_A_SETTING"])
def test_set_refuses_secrets_derived_and_unknown_names(name: str) -> None:
    with pytest.raises(SystemExit):
        check_names({name: "x"})


def test_stage_names_become_resource_names() -> None:
    assert STAGE.queue_name == "emailsched-prod-send"
    assert STAGE.dead_letter_queue_name == "emailsched-prod-send-dlq"
    assert STAGE.function_name("api_handler") == "emailsched-prod"
    assert STAGE.function_name("sender") == "emailsched-prod-sender"
    with pytest.raises(ValueError):
        Stage("Prod_1", "eu-west-1")


def test_without_a_vpc_no_function_may_touch_network_interfaces() -> None:
    policies = function_policies(concrete_refs(STAGE, "123456789012"), vpc=False)
    actions = [a for doc in policies.values() for s in doc["Statement"] for a in s["Action"]]
    assert not [a for a in actions if a.startswith("ec2:")]
    logs = policies["sender"]["Statement"][0]["Resource"]
    group = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/emailsched-prod-sender"
    assert logs == [group, f"{group}:*"]
