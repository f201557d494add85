/**
 * Sender domain health (issue 29): GET /senders/{id}/dns shown on a sender's row
 * (verdict, one line per record, advice with the record to add), and the verdicts
 * the compose sender picker warns with. A check DNS could not make (503) shows its
 * reason quietly: no toast.
 *
 * data-testid:
 *   sender-dns            the panel; data-verdict (ok | warn | fail) once loaded
 *   sender-dns-record     one record's line; data-record (SPF | DKIM | DMARC | MX), data-ok
 *   sender-dns-advice     one piece of advice
 *   sender-dns-error      why there is no answer
 */
import { useEffect, useState } from "react";
import { describeError } from "../../api/client";
import type { DnsVerdict, SenderDns } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { recordLines, VERDICT_LABELS } from "../../lib/domainHealth";

const VERDICT_CALLOUT: Record<DnsVerdict, string> = { ok: "", warn: "callout-warning", fail: "callout-error" };

function useSenderDns(senderId: string): { dns: SenderDns | null; error: string | null } {
  const { api } = useAuth();
  const [dns, setDns] = useState<SenderDns | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const ctrl = new AbortController();
    api.senderDns(senderId, ctrl.signal).then(setDns, (err: unknown) => {
      if (!ctrl.signal.aborted) setError(describeError(err));
    });
    return () => ctrl.abort();
  }, [api, senderId]);
  return { dns, error };
}

export function DomainHealth({ senderId }: { senderId: string }) {
  const { dns, error } = useSenderDns(senderId);
  if (error)
    return (
      <p className="hint" data-testid="sender-dns-error">
        Domain health not checked: {error}
      </p>
    );
  if (!dns) return <p className="hint">Checking the domain's SPF, DKIM and DMARC…</p>;
  return <DomainHealthReport dns={dns} />;
}

/** One answer of GET /senders/{id}/dns: the verdict's line, opening on the records and advice. */
export function DomainHealthReport({ dns }: { dns: SenderDns }) {
  const fixes = dns.advice.length;
  return (
    <div className={`callout ${VERDICT_CALLOUT[dns.verdict]}`} data-testid="sender-dns" data-verdict={dns.verdict}>
      <details className="dns-details">
        <summary>
          <strong>
            {VERDICT_LABELS[dns.verdict]}: {dns.domain}
          </strong>{" "}
          <span className="hint">
            {fixes > 0 ? `${fixes} ${fixes === 1 ? "thing" : "things"} to fix · ` : ""}checked {new Date(dns.checkedAt).toLocaleString()}
          </span>
        </summary>
        <ul className="dns-records">
          {recordLines(dns).map((line) => (
            <li key={line.name} data-testid="sender-dns-record" data-record={line.name} data-ok={line.ok}>
              <span aria-label={line.ok ? "ok" : "needs attention"}>{line.ok ? "✓" : "✗"}</span> <strong>{line.name}</strong>{" "}
              <code>{line.text}</code>
            </li>
          ))}
        </ul>
        {fixes > 0 && (
          <ul className="dns-advice">
            {dns.advice.map((tip) => (
              <li key={tip} data-testid="sender-dns-advice">
                {tip}
              </li>
            ))}
          </ul>
        )}
      </details>
    </div>
  );
}

/** Each sender's verdict as it arrives; a sender whose check failed has none. */
export function useDomainVerdicts(senderIds: string[]): Map<string, DnsVerdict> {
  const { api } = useAuth();
  const [verdicts, setVerdicts] = useState<Map<string, DnsVerdict>>(new Map());
  const key = senderIds.join(",");
  useEffect(() => {
    const ctrl = new AbortController();
    for (const id of key ? key.split(",") : []) {
      api.senderDns(id, ctrl.signal).then(
        (dns) => setVerdicts((old) => new Map(old).set(id, dns.verdict)),
        () => undefined, // no verdict: no warning
      );
    }
    return () => ctrl.abort();
  }, [api, key]);
  return verdicts;
}
