"""Tracked HTML parts: links through the redirect exactly as written, the pixel at the end."""

from __future__ import annotations

from emailsched.domain.tracking_links import add_tracking, tracked_links

BODY = """<html><head><style>a {color: red} .x{background:url(https://cdn.example/i.png)}</style>
</head><body><p>Hi <a href="https://example.com/p?q=a%2Fb&amp;x=1#frag">pricing</a>,
<a class=c href='https://example.com/two'>two</a> <a href=https://example.com/three>3</a>
<a href="mailto:sales@example.com">mail</a> <a href="https://app.example/u/TOKEN">Unsubscribe</a>
<!-- <a href="https://hidden.example/">x</a> --></p></body></html>"""


def test_every_http_link_but_unsubscribe_is_tracked_with_its_url_as_written():
    assert tracked_links(BODY) == ["https://example.com/p?q=a%2Fb&x=1#frag",
                                   "https://example.com/two", "https://example.com/three",
                                   "https://app.example/u/TOKEN"]
    seen: list[str] = []

    def click(url: str) -> str:
        seen.append(url)
        return f"https://t.example/t/c/{len(seen)}"

    tracked = add_tracking(BODY, pixel_url="https://t.example/t/o/abc.gif", click_url=click,
                           skip="https://app.example/u/TOKEN")
    assert seen == ["https://example.com/p?q=a%2Fb&x=1#frag", "https://example.com/two",
                    "https://example.com/three"]
    assert 'href="https://t.example/t/c/1"' in tracked and "class=c" in tracked
    assert 'href="mailto:sales@example.com"' in tracked
    assert 'href="https://app.example/u/TOKEN"' in tracked
    assert "https://hidden.example/" in tracked and "url(https://cdn.example/i.png)" in tracked
    pixel = tracked.index('<img src="https://t.example/t/o/abc.gif"')
    assert pixel < tracked.index("</body>")


def test_opens_only_or_clicks_only():
    assert add_tracking(BODY, pixel_url=None, click_url=None) == BODY
    only_pixel = add_tracking("<p>hi</p>", pixel_url="https://t/o.gif", click_url=None)
    assert only_pixel.startswith("<p>hi</p>") and 'src="https://t/o.gif"' in only_pixel
