"""A password echoed by a server is hidden as a whole token, never as letters of words."""

import pytest

from emailsched.adapters.scrub import scrub

pytestmark = pytest.mark.unit


def test_a_one_letter_password_leaves_the_servers_words_whole():
    reply = "SMTP AUTH extension not supported by server."
    assert scrub(reply, ["x"]) == reply


@pytest.mark.parametrize("reply, expected", [
    ("535 bad password hunter2", "535 bad password ***"),
    ("535 bad password 'hunter2'.", "535 bad password '***'."),
    ("LOGIN user hunter2: refused", "LOGIN user ***: refused"),
    ("hunter2", "***"),
    ("hunter22 is not hunter2", "hunter22 is not ***"),
])
def test_the_password_as_a_token_is_hidden(reply, expected):
    assert scrub(reply, ["hunter2"]) == expected


def test_the_longer_secret_is_hidden_first_and_empty_ones_are_ignored():
    assert scrub("echo: c2VjcmV0 secret", ["secret", "c2VjcmV0", None, ""]) == "echo: *** ***"
