"""The HTTP API by area, one Chalice Blueprint each; functions/app.py registers them all."""

from __future__ import annotations

from chalice import Blueprint


def blueprints() -> list[Blueprint]:
    """Every area's blueprint, imported on first use (not at package import)."""
    from emailsched.api.routes import (
        analytics,
        api_keys,
        auth,
        batches,
        emails,
        inbox,
        oauth,
        operations,
        senders,
        suppressions,
        tracking,
        webhooks,
    )

    return [module.routes.blueprint for module in
            (auth, emails, batches, senders, oauth, suppressions, inbox, operations, api_keys,
             webhooks, tracking, analytics)]
