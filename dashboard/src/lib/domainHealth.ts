/**
 * Sender domain health (issue 29) in words: the verdict's label and one line per
 * record, for the Senders page and the compose sender picker.
 */
import type { DnsVerdict, SenderDns } from "../api/types";

export const VERDICT_LABELS: Record<DnsVerdict, string> = {
  ok: "Domain OK",
  warn: "Domain: check advice",
  fail: "Domain not set up",
};

export interface RecordLine {
  name: "SPF" | "DKIM" | "DMARC" | "MX";
  ok: boolean;
  text: string;
}

/** One line per record: what was found, or what is missing. */
export function recordLines(dns: SenderDns): RecordLine[] {
  const alignment = dns.dmarc.alignment ? ` · alignment dkim=${dns.dmarc.alignment.dkim} spf=${dns.dmarc.alignment.spf}` : "";
  return [
    { name: "SPF", ok: dns.spf.ok, text: dns.spf.record ? `${dns.spf.record} (${dns.spf.detail})` : dns.spf.detail },
    { name: "DKIM", ok: dns.dkim.ok, text: dns.dkim.ok ? `key found under ${dns.dkim.selectors.join(", ")}` : "no key under the selectors tried" },
    {
      name: "DMARC",
      ok: dns.dmarc.ok && dns.dmarc.policy !== "none",
      text: dns.dmarc.record ? `p=${dns.dmarc.policy ?? "?"}${alignment}` : "no record at _dmarc",
    },
    { name: "MX", ok: dns.mx.ok, text: dns.mx.ok ? dns.mx.hosts.join(", ") : "no MX record" },
  ];
}

/** The compose picker's warning for a sender whose domain fails, else null. */
export function pickerWarning(verdict: DnsVerdict | undefined): string | null {
  return verdict === "fail" ? "its domain lacks SPF, DKIM or DMARC: Gmail, Yahoo and Outlook may refuse or junk this mail" : null;
}
