"""Response models of the analytics routes (SPEC.md "Engagement"), apart from schemas.py
so the OpenAPI document and the dashboard's types come from them."""

from __future__ import annotations

from emailsched.api.schemas import Model


class MachineCountsOut(Model):
    """Hits no person made (prefetches, scanners, HEAD requests, bursts), counted apart."""

    opens: int
    clicks: int


class FunnelOut(Model):
    """Emails sent, and how many of them were opened, clicked... (at most one human open
    and one human click per email); rates are fractions of `sent`."""

    sent: int
    bounced: int
    opened: int
    clicked: int
    replied: int
    unsubscribed: int
    open_rate: float
    click_rate: float
    reply_rate: float
    bounce_rate: float
    machine: MachineCountsOut


class StepFunnelOut(FunnelOut):
    step: int


class VariantFunnelOut(FunnelOut):
    variant: str


class SenderFunnelOut(FunnelOut):
    sender_id: str


class DayFunnelOut(FunnelOut):
    day: str  # YYYY-MM-DD (UTC) the emails were sent


class BatchAnalyticsOut(FunnelOut):
    by_step: list[StepFunnelOut]
    by_variant: list[VariantFunnelOut]
    by_sender: list[SenderFunnelOut]


class AnalyticsOut(BatchAnalyticsOut):
    per_day: list[DayFunnelOut]
