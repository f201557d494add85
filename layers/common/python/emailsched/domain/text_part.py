"""The plain-text part of an email, made from its HTML by inscriptis (Apache-2.0).

Links keep their targets as `text (url)`; a link whose text is its URL (or a `mailto:`
link whose text is the address) is shown once. Links to anchors (`#top`) and scripts are
shown as their text alone.
"""

from __future__ import annotations

from inscriptis import Inscriptis
from inscriptis.model.config import ParserConfig
from lxml import html as lxml_html
from lxml.etree import ParserError

_SHOWN_SCHEMES = ("http://", "https://", "mailto:", "tel:")
_CONFIG = ParserConfig(display_links=False)


def html_to_text(body_html: str) -> str:
    """A readable plain-text rendering of `body_html`, link targets kept."""
    if not body_html.strip():
        return ""
    try:
        tree = lxml_html.document_fromstring(body_html)
    except ParserError:  # only comments or processing instructions: no text
        return ""
    for link in tree.iter("a"):
        _spell_out_target(link)
    return Inscriptis(tree, _CONFIG).get_text().strip() + "\n"


def _spell_out_target(link: lxml_html.HtmlElement) -> None:
    href = (link.get("href") or "").strip()
    if not href.lower().startswith(_SHOWN_SCHEMES):
        return
    text = " ".join(link.text_content().split())
    if _same_target(text, href):
        return
    suffix = f" ({href})" if text else href
    link.tail = suffix + (link.tail or "")


def _same_target(text: str, href: str) -> bool:
    def bare(value: str) -> str:
        value = value.strip().rstrip("/").lower()
        return value.removeprefix("mailto:").removeprefix("tel:")

    return bare(text) == bare(href)
