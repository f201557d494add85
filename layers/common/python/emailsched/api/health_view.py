"""GET /health's answer: 200 when every check passed, 503 otherwise; the body names only
the checks, their outcome and their time."""

from __future__ import annotations

from chalice import Response

from emailsched.api import schemas
from emailsched.services.health import Health


def health(found: Health) -> Response:
    checks = {name: schemas.HealthCheckOut(ok=r.ok, ms=r.ms) for name, r in found.checks.items()}
    body = schemas.HealthOut(status="ok" if found.ok else "degraded",
                             checks=schemas.HealthChecksOut(**checks))
    return Response(body=body.model_dump_json(by_alias=True), status_code=200 if found.ok else 503,
                    headers={"Content-Type": "application/json", "Cache-Control": "no-store"})
