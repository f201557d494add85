"""The plain-text part keeps link targets as "text (url)", and reads like the HTML."""

from __future__ import annotations

import pytest

from emailsched.domain.text_part import html_to_text

pytestmark = pytest.mark.unit


def test_a_link_is_its_text_followed_by_its_target():
    assert html_to_text('<p>See <a href="https://example.com/x">the offer</a>.</p>') == (
        "See the offer (https://example.com/x).\n")


@pytest.mark.parametrize("html", [
    '<a href="https://example.com/y">https://example.com/y</a>',
    '<a href="https://example.com/y/">https://EXAMPLE.com/y</a>',
])
def test_a_link_whose_text_is_its_url_is_shown_once(html):
    assert html_to_text(html).strip() == html.split(">")[1].split("<")[0]


def test_a_mailto_link_showing_its_address_is_shown_once_and_others_get_the_address():
    assert html_to_text('<a href="mailto:a@b.com">a@b.com</a>').strip() == "a@b.com"
    assert html_to_text('<a href="mailto:a@b.com">write us</a>').strip() == (
        "write us (mailto:a@b.com)")


def test_anchor_and_script_links_show_their_text_alone_and_an_image_link_its_target():
    assert html_to_text('<a href="#top">top</a> <a href="javascript:x()">go</a>').strip() == (
        "top go")
    assert html_to_text('<a href="https://i.example"><img src="x.png"></a>').strip() == (
        "https://i.example")


def test_paragraphs_are_separated_by_a_blank_line_and_breaks_kept():
    assert html_to_text("<p>One</p><p>Two<br>Three</p>") == "One\n\nTwo\nThree\n"


def test_lists_are_bulleted_and_numbered():
    text = html_to_text("<ul><li>apple</li><li>pear</li></ul><ol><li>first</li>"
                        "<li>second</li></ol>")
    assert [line.strip() for line in text.splitlines() if line.strip()] == [
        "* apple", "* pear", "1. first", "2. second"]


def test_entities_are_decoded_and_escaped_fields_read_as_text():
    assert html_to_text("<p>Caf&eacute; &amp; &lt;script&gt; &#8364;5&nbsp;off</p>") == (
        "Café & <script> €5 off\n")  # nbsp read as a space


def test_styles_scripts_and_empty_bodies_give_no_text():
    assert html_to_text("<style>p{color:red}</style><script>x()</script><p>Hi</p>") == "Hi\n"
    assert html_to_text("") == "" and html_to_text("   ") == ""
    assert html_to_text("<!-- only a comment -->") == ""


def test_a_full_document_with_a_footer_reads_in_order():
    html = ("<html><head><title>T</title></head><body><h1>Hello Ann</h1><p>Our offer</p>"
            '<p style="font-size:12px">Don\'t want these emails? '
            '<a href="https://a.example/u/T">Unsubscribe</a></p></body></html>')
    assert html_to_text(html) == ("Hello Ann\n\nOur offer\n\nDon't want these emails? "
                                  "Unsubscribe (https://a.example/u/T)\n")
