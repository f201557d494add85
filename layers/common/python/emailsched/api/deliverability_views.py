"""Answers of the suppression routes and the public unsubscribe pages.

The pages are small, self-contained HTML: no script, no outside resource. The GET page's
button POSTs `List-Unsubscribe=One-Click` to the same URL, so it does exactly what a mail
client's one-click POST does; the GET itself changes nothing.
"""

from __future__ import annotations

import html
from math import ceil

from chalice import Response

from emailsched.api import schemas
from emailsched.api.http import error_response, iso, json_response
from emailsched.domain.records import Suppression
from emailsched.errors import NotFound
from emailsched.services.queries import Page

# The pages' own policy: an inline style, a form posting to this origin, nothing else.
PAGE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
_STYLE = ("body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;"
          "padding:0 1rem;color:#222}button{font-size:1rem;padding:.6rem 1.2rem}")


def suppression_list(found: list[Suppression], total: int, page: Page) -> Response:
    return json_response(schemas.SuppressionListOut(
        suppressions=[schemas.SuppressionOut(email=s.email, reason=s.reason,
                                             created_at=iso(s.created_at) or "")
                      for s in found],
        pagination=schemas.PaginationOut(page=page.page, limit=page.limit, total=total,
                                         pages=ceil(total / page.limit))))


def suppressions_added(count: int) -> Response:
    return json_response(schemas.SuppressionsAddedOut(added=count), status=201)


def no_content() -> Response:
    return Response(body="", status_code=204)


def confirm_page(address: str) -> Response:
    return _page("Unsubscribe", f"<p>Stop emails to <strong>{_masked(address)}</strong>?</p>"
                 '<form method="post"><input type="hidden" name="List-Unsubscribe" '
                 'value="One-Click"><button type="submit">Unsubscribe</button></form>')


def unsubscribed_page(address: str) -> Response:
    return _page("Unsubscribed", f"<p><strong>{_masked(address)}</strong> will get no more "
                 "emails from this sender.</p>")


def not_found_page(accept: str | None) -> Response:
    """An unknown or altered token: the HTML page for a browser (it asks for text/html),
    SPEC.md's JSON error body for anyone else (a mail client's one-click POST, a script)."""
    if "text/html" in (accept or "").lower():
        return _page("Link not valid", "<p>This unsubscribe link is not valid.</p>",
                     status=404)
    return error_response(NotFound("this unsubscribe link is not valid"))


def _masked(address: str) -> str:
    """`j***@example.com`: whoever holds the link sees whose it is, not the whole address."""
    local, _, domain = address.partition("@")
    return html.escape(f"{local[:1]}***@{domain}")


def _page(title: str, content: str, status: int = 200) -> Response:
    body = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<meta name="robots" content="noindex"><title>{title}</title>'
            f"<style>{_STYLE}</style></head><body><h1>{title}</h1>{content}</body></html>")
    return Response(body=body, status_code=status, headers={
        "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": PAGE_CSP})
