"""Recipients with merge fields: `address` or `{email, fields}`, every field checked.

Field names are identifier-like (so a template can say `{{ first_name }}`); values are
strings (numbers are turned into strings; booleans, null and nested values are refused).
A value may hold line breaks: the body escapes them like any text, and the subject folds
them to a space (`fold_line_breaks`), so a field can never start a new header.
A `timezone` field is an ordinary field, kept as given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from emailsched.domain.recipients import normalise_address

MAX_FIELDS = 50
MAX_NAME_LENGTH = 64
MAX_VALUE_LENGTH = 2_000
MAX_FIELDS_CHARS = 16_000  # all names and values of one recipient together
RESERVED_NAMES = frozenset({"email", "unsubscribe_url"})
# Jinja2 reads these as literals or operators, so a field with such a name is unusable.
_JINJA_WORDS = frozenset({"true", "false", "none", "True", "False", "None", "and", "or",
                          "not", "in", "is", "if", "else", "elif", "endif"})
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_LINE_BREAKS = re.compile(r"[ \t]*[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+[ \t]*")
_CONTROL = CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")


@dataclass(frozen=True)
class Recipient:
    email: str
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass
class RecipientEntries:
    recipients: list[Recipient] = field(default_factory=list)
    duplicates_removed: int = 0
    invalid: list[dict[str, object]] = field(default_factory=list)


def fold_line_breaks(value: str) -> str:
    """`value` with each run of line breaks (CR, LF, VT, FF, NEL, LS, PS) as one space."""
    return _LINE_BREAKS.sub(" ", value)


def check_field_name(name: object) -> str:
    """`name` if it can be a field, else ValueError saying why."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"field name {str(name)[:80]!r} must start with a letter and hold "
                         "only letters, digits and _")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"field name {name[:80]!r} is longer than {MAX_NAME_LENGTH} characters")
    if name in RESERVED_NAMES or name in _JINJA_WORDS:
        raise ValueError(f"field name {name!r} is reserved")
    return name


def field_value(name: str, value: object) -> str:
    """The string value of field `name`: str as is, int/float as text, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"field {name!r} must be a string or a number")
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_VALUE_LENGTH:
        raise ValueError(f"field {name!r} is longer than {MAX_VALUE_LENGTH} characters")
    if _CONTROL.search(text):
        raise ValueError(f"field {name!r} holds a control character")
    return text


def check_fields(raw: object) -> dict[str, str]:
    """Validated fields of one recipient, or ValueError naming the first problem."""
    if not isinstance(raw, Mapping):
        raise ValueError("fields must be an object of name: value")
    if len(raw) > MAX_FIELDS:
        raise ValueError(f"more than {MAX_FIELDS} fields")
    fields = {check_field_name(name): field_value(name, value) for name, value in raw.items()}
    if sum(len(name) + len(value) for name, value in fields.items()) > MAX_FIELDS_CHARS:
        raise ValueError(f"fields longer than {MAX_FIELDS_CHARS} characters in all")
    return fields


def parse_recipient(raw: object) -> Recipient:
    """One entry, an address or `{email, fields}`, or ValueError saying why not."""
    if isinstance(raw, str):
        return Recipient(normalise_address(raw))
    if not isinstance(raw, Mapping):
        raise ValueError("a recipient is an address or {email, fields}")
    unknown = set(raw) - {"email", "fields"}
    if unknown:
        raise ValueError(f"unknown key {sorted(map(str, unknown))[0]!r}")
    address = raw.get("email")
    if not isinstance(address, str):
        raise ValueError("email must be a string")
    return Recipient(normalise_address(address), check_fields(raw.get("fields", {})))


def parse_recipient_entries(raw: Sequence[object]) -> RecipientEntries:
    """Validate every entry; drop duplicate addresses (case-insensitively), keeping the first."""
    result = RecipientEntries()
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        try:
            recipient = parse_recipient(entry)
        except ValueError as error:
            result.invalid.append({"field": f"recipients[{index}]", "message": str(error)})
            continue
        key = recipient.email.casefold()
        if key in seen:
            result.duplicates_removed += 1
            continue
        seen.add(key)
        result.recipients.append(recipient)
    return result
