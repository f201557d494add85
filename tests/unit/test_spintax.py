"""Spintax: one option per recipient, the same every time; what is not spintax untouched."""

from __future__ import annotations

import pytest

from emailsched.domain.spintax import parse, spin


@pytest.mark.parametrize(("text", "allowed"), [
    ("{Hi|Hello|Hey} there", {"Hi there", "Hello there", "Hey there"}),
    ("{Hi {there|friend}|Hello}", {"Hi there", "Hi friend", "Hello"}),
    ("{a\\|b|c}", {"a|b", "c"}),
    ("{|Dear }Sam", {"Sam", "Dear Sam"}),
])
def test_every_rendering_is_one_of_the_options(text: str, allowed: set[str]):
    renderings = {spin(text, f"batch-1:person{i}@example.com") for i in range(60)}
    assert renderings == allowed


@pytest.mark.parametrize("text", [
    "plain text", "{not spintax}", "a } b { c", "\\{literal}", "{unclosed|choice",
    "{{ first_name | default('there') }}", "{% if x %}y{% endif %}", "{# note | x #}",
    "<style>p {color: red} a {x|y}</style>", "{}", "{{ a }}{{ b }}",
])
def test_what_is_not_a_choice_is_left_as_written(text: str):
    expected = text.replace("\\{", "{")
    assert spin(text, "seed") == expected
    assert not parse(text.replace("\\{", "")).spun or "|" in text


def test_a_recipient_always_gets_the_same_words_and_thirty_use_every_option():
    text = "{Hi|Hello|Hey} {{ first_name }}, <style>.a {b|c}</style>{quick|short} {note|line}"
    seeds = [f"b1:lead{i}@example.com" for i in range(30)]
    first = [spin(text, seed) for seed in seeds]
    assert first == [spin(text, seed) for seed in seeds]  # a retry sends the same words
    for option in ("Hi ", "Hello ", "Hey ", "quick", "short", "note", "line"):
        assert any(option in rendering for rendering in first), option
    assert all("<style>.a {b|c}</style>" in r and "{{ first_name }}" in r for r in first)


def test_a_merge_field_inside_an_option_survives():
    renderings = {spin("{Hi {{ name }}|Hello {{ name }}!}", str(i)) for i in range(40)}
    assert renderings == {"Hi {{ name }}", "Hello {{ name }}!"}
