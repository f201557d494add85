"""Recipient lists: validate every address, normalise it, drop duplicates keeping order.

Plain ASCII addresses (nearly all of them) are checked by one compiled pattern, because a
100,000-recipient list must be accepted in well under a second; anything else (unicode
local parts, IDN domains) goes through email-validator, which knows the RFCs in full.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_ADDRESS = re.compile(
    rf"^(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?P<domain>(?:{_LABEL}\.)+(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}}))$"
)
MAX_ADDRESS_LENGTH = 254
MAX_LOCAL_LENGTH = 64


@dataclass
class RecipientList:
    addresses: list[str] = field(default_factory=list)
    duplicates_removed: int = 0
    invalid: list[dict[str, object]] = field(default_factory=list)


def normalise_address(raw: str) -> str:
    """The canonical form of one address, or ValueError saying why it is not one."""
    address = raw.strip()
    if not address:
        raise ValueError("empty address")
    if len(address) > MAX_ADDRESS_LENGTH:
        raise ValueError(f"longer than {MAX_ADDRESS_LENGTH} characters")
    match = _PLAIN_ADDRESS.match(address)
    if match and not _reserved_hyphens(match["domain"]):
        if len(match["local"]) > MAX_LOCAL_LENGTH:
            raise ValueError(f"local part longer than {MAX_LOCAL_LENGTH} characters")
        return f"{match['local']}@{match['domain'].lower()}"
    try:
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None
    return checked.normalized


def _reserved_hyphens(domain: str) -> bool:
    """A label with `--` in its 3rd and 4th places other than an A-label (`xn--`): IDNA
    reserves them, and email-validator refuses them; let it say why."""
    return "--" in domain and any(label[2:4] == "--" and label[:4].lower() != "xn--"
                                  for label in domain.split("."))


def clean_recipients(raw: list[str]) -> RecipientList:
    """Validate, normalise and de-duplicate (case-insensitively) in the order given."""
    result = RecipientList()
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        try:
            address = normalise_address(entry)
        except ValueError as error:
            result.invalid.append({"field": f"recipients[{index}]", "value": entry[:320],
                                   "message": str(error)})
            continue
        key = address.casefold()
        if key in seen:
            result.duplicates_removed += 1
            continue
        seen.add(key)
        result.addresses.append(address)
    return result
