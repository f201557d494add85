"""One hourly limit, stated once: the schema refuses what the API cannot honour, and the
OpenAPI document shows that maximum (issue 30, defect 8)."""

import json

import pytest
from pydantic import ValidationError

from emailsched.api import schemas
from emailsched.api.openapi import openapi_document
from emailsched.domain.model import MAX_HOURLY_LIMIT

pytestmark = pytest.mark.unit

MODELS = {"ScheduleIn": schemas.ScheduleIn, "SenderCreateIn": schemas.SenderCreateIn,
          "SenderPatchIn": schemas.SenderPatchIn}


def test_the_openapi_document_shows_the_real_maximum_everywhere():
    components = json.loads(openapi_document())["components"]["schemas"]
    for name in MODELS:
        limit = components[name]["properties"]["hourlyLimit"]
        shown = limit.get("maximum", max((o.get("maximum", 0) for o in limit.get("anyOf", [])),
                                         default=None))
        assert shown == MAX_HOURLY_LIMIT == 100_000, name


@pytest.mark.parametrize("name", MODELS)
def test_a_limit_above_the_maximum_is_refused_naming_hourly_limit(name):
    with pytest.raises(ValidationError) as refused:
        MODELS[name].model_validate({"hourlyLimit": MAX_HOURLY_LIMIT + 1})
    assert any(error["loc"] == ("hourlyLimit",) for error in refused.value.errors())
