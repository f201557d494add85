"""A Chalice app whose per-request state is per thread.

On Lambda one process serves one request at a time; `emailsched api` serves many at once
from threads, and Chalice keeps `current_request` on the app object. Keeping it in a
thread-local makes concurrent requests safe without changing how routes are written.
"""

from __future__ import annotations

import threading
from typing import Any

from chalice import Chalice

_state = threading.local()


class ThreadSafeChalice(Chalice):
    @property
    def current_request(self) -> Any:
        return getattr(_state, "request", None)

    @current_request.setter
    def current_request(self, value: Any) -> None:
        _state.request = value

    @property
    def lambda_context(self) -> Any:
        return getattr(_state, "context", None)

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        _state.context = value
