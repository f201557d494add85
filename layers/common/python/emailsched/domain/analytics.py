"""Campaign analytics (SPEC.md "Engagement"): counts per email outcome and their rates.

Every count is of emails, not of hits: an email opened ten times by its reader is one
open, and at most one human open and one human click count per email. Machine hits (a
prefetch, a scanner, a burst) are counted apart, as hits, so that nothing is hidden.
Rates are fractions of `sent` (0 before anything was sent).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RATES = (("openRate", "opened"), ("clickRate", "clicked"), ("replyRate", "replied"),
         ("bounceRate", "bounced"))


@dataclass(frozen=True)
class Counts:
    sent: int = 0
    bounced: int = 0
    opened: int = 0
    clicked: int = 0
    replied: int = 0
    unsubscribed: int = 0
    machine_opens: int = 0
    machine_clicks: int = 0

    def to_api(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "sent": self.sent, "bounced": self.bounced, "opened": self.opened,
            "clicked": self.clicked, "replied": self.replied,
            "unsubscribed": self.unsubscribed}
        for rate, count in RATES:
            shown[rate] = round(shown[count] / self.sent, 4) if self.sent else 0.0
        shown["machine"] = {"opens": self.machine_opens, "clicks": self.machine_clicks}
        return shown


@dataclass(frozen=True)
class Analytics:
    total: Counts
    by_step: list[tuple[int, Counts]]
    by_sender: list[tuple[str, Counts]]
    per_day: list[tuple[str, Counts]] | None = None  # over a date range only

    def to_api(self) -> dict[str, Any]:
        shown = self.total.to_api()
        shown["byStep"] = [{"step": step, **c.to_api()} for step, c in self.by_step]
        shown["byVariant"] = []  # variants are not built yet
        shown["bySender"] = [{"senderId": s, **c.to_api()} for s, c in self.by_sender]
        if self.per_day is not None:
            shown["perDay"] = [{"day": day, **c.to_api()} for day, c in self.per_day]
        return shown
