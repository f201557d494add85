"""A signed-in HTTP client of the product's API, and request bodies for benchmarks."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import requests


class ApiClient:
    def __init__(self, base_url: str, email: str):
        self.base_url = base_url
        self.session = requests.Session()
        answer = self.session.post(f"{base_url}/auth/dev-login", json={"email": email},
                                   timeout=30)
        answer.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {answer.json()['token']}"

    def schedule(self, body: dict[str, Any]) -> dict[str, Any]:
        answer, _ = self.timed_schedule(json.dumps(body).encode())
        return answer

    def timed_schedule(self, payload: bytes) -> tuple[dict[str, Any], float]:
        """POST /emails/schedule with an already encoded body: (answer, seconds to the 201)."""
        started = time.perf_counter()
        answer = self.session.post(f"{self.base_url}/emails/schedule", data=payload,
                                   headers={"Content-Type": "application/json"}, timeout=120)
        seconds = time.perf_counter() - started
        if answer.status_code != 201:
            raise RuntimeError(f"schedule answered {answer.status_code}: {answer.text[:300]}")
        return answer.json(), seconds

    def close(self) -> None:
        self.session.close()


def batch_body(recipients: list[str], start: datetime, *, delay_ms: int = 0,
               limit: int = 100_000, sender: str = "bench@example.com",
               subject: str = "Benchmark") -> dict[str, Any]:
    return {"subject": subject,
            "body": "<p>Hello <b>there</b>,</p><p>this is a benchmark email.</p>",
            "recipients": recipients, "startTime": start.isoformat(), "delayMs": delay_ms,
            "hourlyLimit": limit, "sender": {"email": sender, "name": "Bench"}}


def recipients(count: int, tag: str = "r") -> list[str]:
    return [f"{tag}{i:06d}@example.com" for i in range(count)]
