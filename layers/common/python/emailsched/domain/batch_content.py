"""A batch's content checked before anything is stored: recipients (an address or
`{email, fields}`), its templates compiled, every field a template needs present for every
recipient, and suppressed addresses dropped. Each problem is an InvalidRequest naming the
template position or `recipients[i]`."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from emailsched.domain.recipient_fields import parse_recipient_entries
from emailsched.domain.recipients import clean_recipients
from emailsched.domain.templates import CompiledTemplates, check_recipients, compile_templates
from emailsched.errors import InvalidRequest

MAX_DETAILS = 100


@dataclass(frozen=True)
class BatchContent:
    addresses: list[str]
    # Per address, in order; None when no recipient has fields (stored as NULL: nothing
    # per email beyond the address).
    fields: list[dict[str, str]] | None
    duplicates_removed: int
    templates: CompiledTemplates
    suppressed_removed: int = 0


def prepare_content(subject: str, body: str, recipients: Sequence[object],
                    steps: Sequence[tuple[str | None, str]] = ()) -> BatchContent:
    """Checked content, or InvalidRequest naming every bad recipient or template."""
    templates = compile_templates(subject, body, steps)
    if all(isinstance(entry, str) for entry in recipients):
        listed = clean_recipients(list(recipients))  # type: ignore[arg-type]
        _refuse_invalid(listed.invalid)
        addresses, fields, duplicates = listed.addresses, None, listed.duplicates_removed
    else:
        entries = parse_recipient_entries(recipients)
        _refuse_invalid(entries.invalid)
        addresses = [r.email for r in entries.recipients]
        fields = [dict(r.fields) for r in entries.recipients]
        duplicates = entries.duplicates_removed
        if not any(fields):
            fields = None
    check_recipients(templates, [_fields_of(entry) for entry in recipients])
    if not addresses:
        raise InvalidRequest("recipients must name at least one address",
                             details=[{"field": "recipients", "message": "is empty"}])
    return BatchContent(addresses, fields, duplicates, templates)


def without_suppressed(content: BatchContent, suppressed: Collection[str]) -> BatchContent:
    """`content` less the addresses on the suppression list (lower case); InvalidRequest
    when none is left."""
    if not suppressed:
        return content
    keep = [i for i, address in enumerate(content.addresses)
            if address.lower() not in suppressed]
    if not keep:
        raise InvalidRequest("every recipient is on your suppression list", details=[
            {"field": "recipients", "message": "all suppressed (GET /suppressions)"}])
    fields = None if content.fields is None else [content.fields[i] for i in keep]
    return replace(content, addresses=[content.addresses[i] for i in keep], fields=fields,
                   suppressed_removed=len(content.addresses) - len(keep))


def without_refused(content: BatchContent, refused: Collection[int]) -> BatchContent:
    """`content` less the recipients at these positions (refused by the recipient checks:
    no mail server, disposable); InvalidRequest when none is left."""
    if not refused:
        return content
    keep = [i for i in range(len(content.addresses)) if i not in refused]
    if not keep:
        raise InvalidRequest("no recipient can receive email", details=[
            {"field": "recipients", "message": "every domain is disposable or has no mail "
                                               "server (no_mx)"}])
    fields = None if content.fields is None else [content.fields[i] for i in keep]
    return replace(content, addresses=[content.addresses[i] for i in keep], fields=fields)


def _fields_of(entry: object) -> Mapping[str, str]:
    """An entry's fields as given (validated already): only their names are looked at."""
    fields = entry.get("fields") if isinstance(entry, Mapping) else None
    return fields if isinstance(fields, Mapping) else {}


def _refuse_invalid(invalid: list[dict[str, object]]) -> None:
    if invalid:
        raise InvalidRequest(f"{len(invalid)} recipient(s) are not valid",
                             details=invalid[:MAX_DETAILS])
