"""Merge fields inside URL attributes (`href`, `src`, ...) of a body template.

Autoescaping makes a field safe as HTML text, not as part of a URL: `?c={{ company }}`
with "Initech, Inc." must go out as `?c=Initech%2C%20Inc.`. So before a body is compiled,
every `{{ ... }}` inside a URL attribute's value, after its first character, is piped
through `urlpart` (percent-encoding with nothing left as is, right for a query value or a
path segment). A field that *is* the whole URL (`href="{{ unsubscribe_url }}"`) stays as it
is: encoding it would break the link.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from markupsafe import Markup

URL_FILTER = "urlpart"
_URL_ATTRIBUTE = re.compile(
    r"""(\b(?:href|src|action|formaction|cite|background|poster)\s*=\s*)("[^"]*"|'[^']*')""",
    re.IGNORECASE)
_OUTPUT = re.compile(r"\{\{(-?)(.*?)(-?)\}\}", re.DOTALL)


def urlpart(value: object) -> Markup:
    """`value` percent-encoded as one query value; Markup, since it is already safe HTML."""
    return Markup(quote(str(value), safe=""))


def encode_url_fields(source: str) -> str:
    """`source` with each field inside a URL attribute (but at its start) piped through
    `urlpart`."""
    if "{{" not in source:
        return source
    return _URL_ATTRIBUTE.sub(lambda m: m.group(1) + _encode_value(m.group(2)), source)


def _encode_value(quoted: str) -> str:
    def encode(match: re.Match[str]) -> str:
        if not quoted[1:match.start()].strip():  # the field is the URL itself
            return match.group(0)
        left, expression, right = match.groups()
        return f"{{{{{left} ({expression}) | {URL_FILTER} {right}}}}}"

    return _OUTPUT.sub(encode, quoted)
