"""Campaign analytics (SPEC.md "Engagement"): a batch's, and a user's over dates."""

from __future__ import annotations

from typing import Any

from chalice import Response

from emailsched.api.engagement_schemas import AnalyticsOut, BatchAnalyticsOut
from emailsched.api.http import json_response, parse_uuid
from emailsched.api.routing import Routes, container

routes = Routes(__name__)


@routes.route("/batches/{batch_id}/analytics", "GET")
def batch_analytics(user: Any, batch_id: str) -> Response:
    found = container().analytics.batch(user.id, parse_uuid(batch_id, field="batch"))
    return json_response(BatchAnalyticsOut.model_validate(found.to_api()))


@routes.route("/analytics", "GET")
def analytics(user: Any) -> Response:
    query = routes.query()
    found = container().analytics.between(user.id, query.get("from"), query.get("to"))
    return json_response(AnalyticsOut.model_validate(found.to_api()))
