"""Spintax (SPEC.md "Engagement"): `{Hi|Hello|Hey}` becomes one of its options, chosen for
each recipient deterministically, so a retry or a resume sends the same words.

- Options nest: `{Hi {there|friend}|Hello}`.
- `\\{`, `\\}` and `\\|` are the characters themselves.
- Braces without a `|` at their own level are left as written (CSS, JSON, a brace in text).
- Jinja2's own delimiters (`{{ ... }}`, `{% ... %}`, `{# ... #}`) and everything inside
  `<style>...</style>` pass through untouched, so a merge field may sit inside an option.

The text is parsed once into a tree (`parse`) and rendered per recipient (`Spintax.render`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_JINJA_CLOSERS = {"{{": "}}", "{%": "%}", "{#": "#}"}
_STYLE = re.compile(r"<style\b.*?</style\s*>", re.IGNORECASE | re.DOTALL)
_ESCAPES = {"\\{": "{", "\\}": "}", "\\|": "|"}


@dataclass(frozen=True)
class Choice:
    options: tuple[tuple[Node, ...], ...]


Node = str | Choice


@dataclass(frozen=True)
class Spintax:
    nodes: tuple[Node, ...]

    @property
    def spun(self) -> bool:
        """Whether any choice is made (a text without one renders as itself)."""
        return any(isinstance(node, Choice) for node in self.nodes)

    def render(self, seed: str) -> str:
        """The text with every choice made for `seed` (say, the batch and the recipient)."""
        counter = [0]
        return "".join(_render(node, seed, counter) for node in self.nodes)


def parse(text: str) -> Spintax:
    nodes, _ = _sequence(text, 0, top=True)
    return Spintax(tuple(_merged(nodes)))


def spin(text: str, seed: str) -> str:
    return parse(text).render(seed)


def _render(node: Node, seed: str, counter: list[int]) -> str:
    if isinstance(node, str):
        return node
    counter[0] += 1
    digest = hashlib.blake2b(f"{seed}\x00{counter[0]}".encode(), digest_size=8).digest()
    chosen = node.options[int.from_bytes(digest, "big") % len(node.options)]
    return "".join(_render(part, seed, counter) for part in chosen)


def _sequence(text: str, i: int, top: bool) -> tuple[list[Node], int]:
    """Nodes from `i` up to (not including) a `|` or `}` of this level, or the end."""
    nodes: list[Node] = []
    while i < len(text):
        literal = _literal_at(text, i)
        if literal is not None:
            nodes.append(literal)
            i += len(literal) if literal == text[i:i + len(literal)] else 2
            continue
        char = text[i]
        if not top and char in "|}":
            return nodes, i
        if char == "{":
            node, i = _group(text, i)
            nodes.extend(node)
            continue
        nodes.append(char)
        i += 1
    return nodes, i


def _literal_at(text: str, i: int) -> str | None:
    """A piece taken as written at `i`: an escape, a Jinja2 tag, a <style> element."""
    pair = text[i:i + 2]
    if pair in _ESCAPES:
        return _ESCAPES[pair]
    if pair in _JINJA_CLOSERS:
        end = text.find(_JINJA_CLOSERS[pair], i + 2)
        return text[i:] if end < 0 else text[i:end + 2]
    if text[i] == "<":
        style = _STYLE.match(text, i)
        if style is not None:
            return style.group(0)
    return None


def _group(text: str, start: int) -> tuple[list[Node], int]:
    """What `{` at `start` opens: a Choice, or the braces as written with what they hold."""
    options: list[list[Node]] = []
    i = start + 1
    while True:
        nodes, i = _sequence(text, i, top=False)
        options.append(nodes)
        if i >= len(text):  # never closed: the brace is text
            return ["{", *_joined(options)], i
        if text[i] == "}":
            break
        i += 1  # past the |
    if len(options) == 1:  # no choice: braces left alone
        return ["{", *options[0], "}"], i + 1
    return [Choice(tuple(tuple(_merged(option)) for option in options))], i + 1


def _joined(options: list[list[Node]]) -> list[Node]:
    joined: list[Node] = []
    for index, option in enumerate(options):
        if index:
            joined.append("|")
        joined.extend(option)
    return joined


def _merged(nodes: list[Node]) -> list[Node]:
    """Adjacent text joined into one string."""
    merged: list[Node] = []
    for node in nodes:
        if isinstance(node, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + node
        else:
            merged.append(node)
    return merged
