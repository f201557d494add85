"""The HTTP API by area, one Chalice Blueprint each; functions/app.py registers them all."""

from __future__ import annotations

from chalice import Blueprint


def blueprints() -> list[Blueprint]:
    """Every area's blueprint, imported on first use (not at package import)."""
    from emailsched.api.routes import (
        analytics,
        auth,
        batches,
        emails,
        operations,
        senders,
        suppressions,
        tracking,
    )

    return [module.routes.blueprint for module in
            (auth, emails, batches, senders, suppressions, operations, tracking,
                              analytics)]
