"""Collects what a page reports as wrong: console messages of type error and uncaught
exceptions. A test names the failed requests it provokes on purpose; anything else fails it."""

from __future__ import annotations

from dataclasses import dataclass, field

from playwright.sync_api import ConsoleMessage, Error, Page

FAILED_RESOURCE = "Failed to load resource: the server responded with a status of {status}"


@dataclass
class ConsoleWatch:
    errors: list[str] = field(default_factory=list)
    _expected: list[tuple[str, int]] = field(default_factory=list)

    @classmethod
    def attach(cls, page: Page) -> ConsoleWatch:
        watch = cls()
        page.on("console", watch._on_console)
        page.on("pageerror", watch._on_page_error)
        return watch

    def expect_failed_request(self, path: str, status: int) -> None:
        """Chromium logs every 4xx answer as a console error; allow this one (once each)."""
        self._expected.append((path, status))

    def assert_clean(self) -> None:
        assert self.errors == [], "the page reported errors:\n" + "\n".join(self.errors)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error" or self._was_expected(message):
            return
        where = message.location.get("url", "")
        self.errors.append(f"console.error: {message.text} (at {where})")

    def _on_page_error(self, error: Error) -> None:
        self.errors.append(f"pageerror: {error.message}\n{error.stack or ''}")

    def _was_expected(self, message: ConsoleMessage) -> bool:
        url = message.location.get("url", "")
        for expected in self._expected:
            path, status = expected
            if message.text.startswith(FAILED_RESOURCE.format(status=status)) and path in url:
                self._expected.remove(expected)
                return True
        return False
