"""Merge-field templates: sandboxed, escaped in the body, folded in the subject, checked
against every recipient before anything is stored."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from emailsched.domain.templates import (
    MAX_DETAILS,
    MAX_TEMPLATE_CHARS,
    check_recipients,
    compile_templates,
    render,
)
from emailsched.errors import InvalidRequest

pytestmark = pytest.mark.unit
URL = "https://app.example.com/u/tok"


def rendered(subject: str, body: str, **fields: str) -> tuple[str, str]:
    return render(compile_templates(subject, body), fields, "r@example.com", URL)


def refusal(subject: str = "Hi", body: str = "Hello", steps=()) -> dict:
    with pytest.raises(InvalidRequest) as caught:
        compile_templates(subject, body, steps)
    assert caught.value.status == 400
    return caught.value.details[0]


def test_subject_and_body_are_personalised_from_fields_and_built_ins():
    subject, body = rendered("Hi {{ first_name }}", "<p>{{ first_name }} at {{ email }}, "
                             '<a href="{{ unsubscribe_url }}">stop</a></p>', first_name="Ann")
    assert subject == "Hi Ann"
    assert body == f'<p>Ann at r@example.com, <a href="{URL}">stop</a></p>'


def test_a_script_in_a_field_arrives_escaped_in_the_body_and_verbatim_in_the_subject():
    subject, body = rendered("{{ name }}", "<p>{{ name }}</p>", name="<script>x()</script>")
    assert body == "<p>&lt;script&gt;x()&lt;/script&gt;</p>"
    assert subject == "<script>x()</script>"


def test_default_fills_a_missing_field_and_is_ignored_when_the_field_is_there():
    compiled = compile_templates('Hi {{ first_name | default("there") }}', "x")
    assert render(compiled, {}, "a@x.com", URL)[0] == "Hi there"
    assert render(compiled, {"first_name": "Bo"}, "a@x.com", URL)[0] == "Hi Bo"


@pytest.mark.parametrize("value", ["Ann\r\nBcc: victim@example.com", "Ann\nBcc: v", "Ann\rX",
                                   "Ann\u2028X", "Ann\x85X"])
def test_line_breaks_in_a_field_are_folded_to_a_space_in_the_subject(value):
    subject, body = rendered("Hi {{ name }}!", "<p>{{ name }}</p>", name=value)
    assert "\r" not in subject and "\n" not in subject and "\u2028" not in subject
    assert subject.startswith("Hi Ann ")
    assert "Ann" in body


def test_a_subject_template_spanning_lines_is_one_header_line():
    assert rendered("Hi\r\n {{ a }}", "x", a="b")[0] == "Hi b"


def test_a_template_that_does_not_parse_names_its_field_and_line():
    detail = refusal(body="<p>ok</p>\n<p>{{ first_name </p>")
    assert detail["field"] == "body" and detail["line"] == 2 and detail["message"]
    assert refusal(subject="Hi {% if x %}")["field"] == "subject"


def test_every_broken_template_is_named_at_once():
    with pytest.raises(InvalidRequest) as caught:
        compile_templates("{{", "{%", [(None, "{{ a b }}")])
    assert [d["field"] for d in caught.value.details] == ["subject", "body", "steps[0].body"]


@pytest.mark.parametrize("text", [
    "{{ ''.__class__ }}", "{{ ''.__class__.__mro__ }}", "{{ x.__class__ }}", "{{ x['__class__'] }}",
    "{{ x.upper() }}", "{{ range(10) }}", "{% for i in x %}{{ i }}{% endfor %}",
    "{% set a = 1 %}", "{{ 'a' * 1000000000 }}", "{{ 9 ** 9 ** 9 }}", "{{ cycler }}x{{ _x }}",
    "{% include 'x' %}", "{% extends 'x' %}", "{% import 'x' as y %}", "{{ x | safe }}",
    "{{ x | attr('__class__') }}", "{{ x | replace('', 'aaaa') }}", "{% macro m() %}{% endmacro %}",
])
def test_escapes_and_costly_syntax_are_refused_at_validation(text):
    assert refusal(body=text)["field"] == "body"


def test_a_template_over_the_size_limit_is_refused():
    assert "longer" in refusal(body="x" * (MAX_TEMPLATE_CHARS + 1))["message"]


def test_conditionals_and_string_filters_are_allowed():
    body = '{% if company is defined %}{{ company | upper }}{% else %}none{% endif %}'
    compiled = compile_templates("s", body)
    assert render(compiled, {"company": "acme"}, "a@x.com", URL)[1] == "ACME"
    assert render(compiled, {}, "a@x.com", URL)[1] == "none"


def test_a_recipient_lacking_a_field_used_without_default_is_named_with_the_field():
    compiled = compile_templates("Hi {{ first_name }}", "{{ company | default('') }}{{ city }}")
    with pytest.raises(InvalidRequest) as caught:
        check_recipients(compiled, [{"first_name": "A", "city": "B"}, {"first_name": "C"}, {}])
    details = caught.value.details
    assert [d["field"] for d in details] == ["recipients[1]", "recipients[2]"]
    assert details[0]["missing"] == ["city"]
    assert details[1]["missing"] == ["city", "first_name"]
    assert "subject" in details[1]["message"]


def test_a_field_used_both_with_and_without_default_is_required():
    compiled = compile_templates("{{ a | default('x') }} {{ a }}", "b")
    with pytest.raises(InvalidRequest):
        check_recipients(compiled, [{}])


def test_built_ins_and_defaulted_fields_need_nothing_from_recipients():
    compiled = compile_templates("{{ email }}", "{{ unsubscribe_url }}{{ n | d('x') }}")
    check_recipients(compiled, [{}, {}])
    assert compiled.body.uses_unsubscribe_url and not compiled.subject.uses_unsubscribe_url


def test_missing_field_details_are_capped():
    with pytest.raises(InvalidRequest) as caught:
        check_recipients(compile_templates("{{ a }}", "b"), [{}] * 500)
    assert len(caught.value.details) == MAX_DETAILS


def test_rendering_without_a_required_field_fails_instead_of_sending_blanks():
    with pytest.raises(InvalidRequest) as caught:
        render(compile_templates("{{ a }}", "b"), {}, "x@y.com", URL)
    assert caught.value.details[0]["field"] == "subject"


def test_a_follow_up_without_subject_is_re_the_first_subject_with_its_own_body():
    compiled = compile_templates("Offer for {{ n }}", "one", [(None, "two {{ n }}"),
                                                             ("Last {{ n }}", "three")])
    assert render(compiled, {"n": "Ann"}, "a@x.com", URL, step=2) == ("Re: Offer for Ann",
                                                                      "two Ann")
    assert render(compiled, {"n": "Ann"}, "a@x.com", URL, step=3) == ("Last Ann", "three")
    with pytest.raises(ValueError):
        render(compiled, {"n": "Ann"}, "a@x.com", URL, step=4)
    with pytest.raises(ValueError):
        compiled.step_templates(1)
    assert compiled.body_for(1) is compiled.body and compiled.body_for(3).field == "steps[1].body"


def test_the_same_template_text_is_compiled_once():
    first = compile_templates("Hi {{ a }}", "<p>{{ a }}</p>")
    again = compile_templates("Hi {{ a }}", "<p>{{ a }}</p>")
    assert first.body.template is again.body.template


def test_a_rendered_unicode_message_parses_in_strict_policy():
    subject, body = rendered("Grüße, {{ n }} ✓", "<p>Hallo {{ n }} & co</p>", n="Jörg\r\nX")
    message = EmailMessage(policy=email.policy.SMTP)
    message["Subject"] = subject
    message["From"] = "Sales <s@example.com>"
    message["To"] = "r@example.com"
    message.set_content("text")
    message.add_alternative(body, subtype="html")
    parsed = email.message_from_bytes(message.as_bytes(),
                                      policy=email.policy.strict)
    assert parsed["Subject"] == "Grüße, Jörg X ✓"
    assert parsed.get_content_type() == "multipart/alternative"
    assert "Hallo Jörg\r\nX & co" in parsed.get_body(("html",)).get_content()


def test_a_field_inside_a_link_is_percent_encoded_as_a_query_value_and_html_escaped_in_text():
    _, body = rendered("Hi", '<a href="https://x.example/?c={{ company }}&amp;r=1">'
                             "{{ company }}</a>", company="Initech, Inc. <&>")
    assert body == ('<a href="https://x.example/?c=Initech%2C%20Inc.%20%3C%26%3E&amp;r=1">'
                    "Initech, Inc. &lt;&amp;&gt;</a>")


def test_fields_in_src_and_single_quoted_attributes_are_encoded_too():
    _, body = rendered("Hi", "<img src='https://x.example/p/{{- slug | default(\"a b\") -}}.png'>")
    assert body == "<img src='https://x.example/p/a%20b.png'>"


def test_a_field_that_is_the_whole_url_is_left_a_working_link():
    _, body = rendered("Hi", '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'
                             '<a href="{{ site }}">site</a>', site="https://acme.example/a?b=1")
    assert body == (f'<a href="{URL}">Unsubscribe</a>'
                    '<a href="https://acme.example/a?b=1">site</a>')
