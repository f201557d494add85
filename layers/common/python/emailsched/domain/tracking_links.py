"""The HTML part of a tracked email: each http(s) link through the click redirect, and the
open pixel at the end (SPEC.md "Engagement"). The text part keeps the original links.

Links are found in `<a>` tags' `href` attributes, however quoted; the URL a redirect leads
to is the attribute's value with its character references decoded (`&amp;` is `&`), and
nothing else changed: query, `%`-escapes and fragment as written. Not tracked: the
unsubscribe link, `mailto:` and anything that is not http(s), links inside `<style>`,
`<script>` or comments.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from emailsched.domain.unsubscribe import append_footer

_SKIPPED = re.compile(r"<!--.*?-->|<(style|script)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_A_TAG = re.compile(r"<a\b[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"""(\bhref\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""", re.IGNORECASE)


def tracked_links(body_html: str) -> list[str]:
    """The URLs of the links that would be tracked, in order (repeats kept)."""
    found: list[str] = []

    def note(url: str) -> str:
        found.append(url)
        return url

    _rewrite(body_html, note, skip=None)
    return found


def add_tracking(body_html: str, *, pixel_url: str | None,
                 click_url: Callable[[str], str] | None,
                 skip: str | None = None) -> str:
    """`body_html` with its links through `click_url(original)` (when given; `skip`, the
    unsubscribe URL, is left) and the pixel at `pixel_url` before `</body>` (when given)."""
    tracked = body_html if click_url is None else _rewrite(body_html, click_url, skip)
    if pixel_url is None:
        return tracked
    pixel = (f'<img src="{html.escape(pixel_url, quote=True)}" width="1" height="1" alt="" '
             'style="display:block;width:1px;height:1px;border:0">')
    return append_footer(tracked, pixel)


def _rewrite(body_html: str, click_url: Callable[[str], str], skip: str | None) -> str:
    out, position = [], 0
    for match in _tags_outside_skipped(body_html):
        out.append(body_html[position:match.start()])
        out.append(_HREF.sub(lambda href: _tracked_href(href, click_url, skip), match.group(0),
                             count=1))
        position = match.end()
    out.append(body_html[position:])
    return "".join(out)


def _tags_outside_skipped(body_html: str) -> list[re.Match[str]]:
    skipped = [(m.start(), m.end()) for m in _SKIPPED.finditer(body_html)]
    return [m for m in _A_TAG.finditer(body_html)
            if not any(start <= m.start() < end for start, end in skipped)]


def _tracked_href(href: re.Match[str], click_url: Callable[[str], str],
                  skip: str | None) -> str:
    raw = next(value for value in href.groups()[1:] if value is not None)
    url = html.unescape(raw).strip()
    if not url.lower().startswith(("http://", "https://")) or (skip and url == skip):
        return href.group(0)
    return f'{href.group(1)}"{html.escape(click_url(url), quote=True)}"'
