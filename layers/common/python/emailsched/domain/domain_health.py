"""A sender domain's health (SPEC.md "Sender domains and recipient checks"): its SPF, DKIM,
DMARC and MX records judged, with a verdict and plain-language advice naming the record to
add. Pure: the records come looked up (services/domain_health.py).

Since 2024 Gmail and Yahoo refuse or junk bulk mail from a domain without SPF, DKIM or
DMARC, and Outlook.com since 2025: a missing one is a `fail`; a DMARC policy of `none`
(nothing enforced) or an SPF that lets any host send (`+all`) is a `warn`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DKIM_SELECTORS = ("google", "selector1", "selector2", "default", "k1", "s1", "s2", "dkim",
                  "mail")
# The include a provider's SPF needs, by provider: known from the sender's kind or its MX.
PROVIDER_INCLUDES = {"google": "_spf.google.com", "microsoft": "spf.protection.outlook.com"}
_PROVIDER_MX = {"google": ("google.com", "googlemail.com"),
                "microsoft": ("outlook.com", "protection.outlook.com")}


@dataclass(frozen=True)
class DomainRecords:
    """What DNS answered for a domain: TXT strings at the domain and at `_dmarc.`, the
    DKIM selectors that have a key, the MX hosts."""

    domain: str
    txt: list[str] = field(default_factory=list)
    dmarc_txt: list[str] = field(default_factory=list)
    dkim_selectors: list[str] = field(default_factory=list)
    mx_hosts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Spf:
    record: str | None
    ok: bool
    detail: str
    open_to_all: bool = False  # ends in +all (or a bare `all`)
    broken: bool = False  # several records: receivers' SPF check fails (permerror)


@dataclass(frozen=True)
class Dmarc:
    record: str | None
    policy: str | None
    ok: bool
    tags: dict[str, str] = field(default_factory=dict)


def selectors_to_try(own: str | None) -> list[str]:
    """The sender's own selector first, then the common ones, each once."""
    first = [own.strip().lower()] if own and own.strip() else []
    return list(dict.fromkeys([*first, *DKIM_SELECTORS]))


def provider_of(kind: str | None, mx_hosts: list[str]) -> str | None:
    """google or microsoft, from the sender's kind or else its MX hosts; None: unknown."""
    if kind in PROVIDER_INCLUDES:
        return kind
    for provider, suffixes in _PROVIDER_MX.items():
        if any(_under(host, suffix) for host in mx_hosts for suffix in suffixes):
            return provider
    return None


def _under(host: str, suffix: str) -> bool:
    host = host.rstrip(".").lower()
    return host == suffix or host.endswith("." + suffix)


def parse_spf(txt: list[str], provider: str | None = None) -> Spf:
    """The domain's SPF judged: one `v=spf1` record, not open to all, with the provider's
    include when the provider is known."""
    records = [t for t in txt if t.strip().lower().split(" ", 1)[0] == "v=spf1"]
    if not records:
        return Spf(None, False, "no SPF record")
    if len(records) > 1:
        return Spf(records[0], False, f"{len(records)} SPF records: receivers treat that as "
                                      "an error (permerror); merge them into one", broken=True)
    record = records[0]
    terms = record.lower().split()[1:]
    if terms and terms[-1] in ("+all", "all"):
        return Spf(record, False, "ends in +all: any server may send as this domain",
                   open_to_all=True)
    include = PROVIDER_INCLUDES.get(provider or "")
    if include and f"include:{include}" not in terms:
        return Spf(record, False, f"does not include {include}, which your provider's "
                                  "servers need")
    return Spf(record, True, "one SPF record" + (f", includes {include}" if include else ""))


def parse_dmarc(txt: list[str]) -> Dmarc:
    """The `_dmarc` record: its tags (p, sp, adkim, aspf, rua, ...) and whether it has one."""
    records = [t for t in txt if t.strip().lower().startswith("v=dmarc1")]
    if len(records) != 1:
        return Dmarc(records[0] if records else None, None, False)
    tags: dict[str, str] = {}
    for part in records[0].split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags[name.strip().lower()] = value.strip()
    policy = tags.get("p", "").lower() or None
    return Dmarc(records[0], policy, policy in ("none", "quarantine", "reject"), tags)


def verdict(spf: Spf, dmarc: Dmarc, dkim_found: list[str]) -> str:
    if spf.record is None or spf.broken or not dmarc.ok or not dkim_found:
        return "fail"
    if dmarc.policy == "none" or spf.open_to_all or not spf.ok:
        return "warn"
    return "ok"


def advice(records: DomainRecords, spf: Spf, dmarc: Dmarc, provider: str | None) -> list[str]:
    """What to change, in plain words, each with the record to add where there is one."""
    d, tips = records.domain, []
    include = PROVIDER_INCLUDES.get(provider or "")
    spf_value = f"v=spf1 include:{include} ~all" if include else "v=spf1 mx ~all"
    if spf.record is None:
        tips.append(f'Add an SPF record: a TXT record on {d} with "{spf_value}" '
                    "(list every service that sends for you).")
    elif not spf.ok:
        tips.append(f"Fix the SPF record on {d}: {spf.detail} (for example \"{spf_value}\").")
    if not records.dkim_selectors:
        tips.append(f"Add DKIM: turn on DKIM signing at your mail provider and publish the "
                    f"key it gives you as a TXT record on SELECTOR._domainkey.{d} (none of "
                    f"the selectors {', '.join(DKIM_SELECTORS)} has one; if yours differs, "
                    "set the sender's dkimSelector).")
    dmarc_value = f"v=DMARC1; p=quarantine; rua=mailto:dmarc@{d}"
    if dmarc.record is None or not dmarc.ok:
        tips.append(f'Add a DMARC record: a TXT record on _dmarc.{d} with "{dmarc_value}".')
    elif dmarc.policy == "none":
        tips.append(f"Your DMARC policy is p=none, which protects nothing: once your mail "
                    f'passes, change _dmarc.{d} to "{dmarc_value}".')
    if not records.mx_hosts:
        tips.append(f"{d} has no MX record: replies to your emails cannot reach you.")
    return tips


def report(records: DomainRecords, kind: str | None, checked_at: str) -> dict[str, Any]:
    """SPEC's `GET /senders/{id}/dns` answer for these records."""
    provider = provider_of(kind, records.mx_hosts)
    spf, dmarc = parse_spf(records.txt, provider), parse_dmarc(records.dmarc_txt)
    return {
        "domain": records.domain, "checkedAt": checked_at,
        "verdict": verdict(spf, dmarc, records.dkim_selectors),
        "spf": {"record": spf.record, "ok": spf.ok, "detail": spf.detail},
        "dkim": {"selectors": list(records.dkim_selectors),
                 "ok": bool(records.dkim_selectors)},
        "dmarc": {"record": dmarc.record, "policy": dmarc.policy, "ok": dmarc.ok,
                  "alignment": {"dkim": dmarc.tags.get("adkim", "r"),
                                "spf": dmarc.tags.get("aspf", "r")}},
        "mx": {"hosts": list(records.mx_hosts), "ok": bool(records.mx_hosts)},
        "advice": advice(records, spf, dmarc, provider),
    }
