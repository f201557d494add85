/**
 * What a batch card shows beyond its progress (issues 13–16): a failing sender,
 * a pause for bounces, the sending window, the newer counts, and per-step progress.
 *
 * data-testid:
 *   batch-sender-failing    a failing sender of this batch (data-sender-id), with its last error
 *   batch-paused-reason     why the batch paused itself (data-reason, e.g. bounce_rate)
 *   batch-window            the batch's sending window
 *   batch-count-suppressed, batch-count-replied, batch-count-held, batch-count-bounced,
 *   batch-count-complained,
 *   batch-count-unsubscribed                     counts (shown when the server sends them)
 *   batch-steps-toggle      "Steps" button that loads per-step progress
 *   batch-steps             the per-step table; batch-step-row (data-step) rows
 *   batch-step-sent, batch-step-pending, batch-step-stopped      its cells
 *   batch-replied-by        who replied
 */
import { useCallback, useState } from "react";
import type { Batch, BatchCounts, ScheduledEmail, SenderAccount, SentEmail } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { failingSendersOf, senderLabel } from "../lib/senders";
import { describeWindow } from "../lib/sendingWindow";
import { serverSteps, stepProgress, type StepProgress } from "../lib/steps";
import { Spinner } from "./Skeleton";

export function BatchAlerts({ batch, senders }: { batch: Batch; senders: SenderAccount[] }) {
  const failing = failingSendersOf(batch, senders);
  return (
    <>
      {failing.map((s) => (
        <div key={s.id} className="callout callout-error" data-testid="batch-sender-failing" data-sender-id={s.id}>
          <div>
            <strong>Sender {senderLabel(s)} is failing</strong>: its emails are held, not lost. Last error:{" "}
            <code>{s.lastError ?? "unknown"}</code>. <a href="#/senders">Fix or verify it on the Senders page</a>.
          </div>
        </div>
      ))}
      {batch.status === "paused" && batch.pausedReason && (
        <div className="callout callout-warning" data-testid="batch-paused-reason" data-reason={batch.pausedReason}>
          {batch.pausedReason === "bounce_rate"
            ? "Paused by itself: too many hard bounces. Check the list (the bounced addresses are now suppressed) before resuming."
            : batch.pausedReason === "complaint_rate"
              ? "Paused by itself: this sender's spam complaints passed 0.3 % of its last 1,000 sends. Check the list and the message (the complaining addresses are now suppressed) before resuming."
              : `Paused: ${batch.pausedReason}`}
        </div>
      )}
      {batch.sendingWindow && (
        <p className="hint" data-testid="batch-window">
          Sends only {describeWindow(batch.sendingWindow)}
          {batch.randomDelayMs ? ` · up to ${(batch.randomDelayMs / 1000).toLocaleString()} s random extra gap` : ""}
        </p>
      )}
    </>
  );
}

const MORE: { key: keyof BatchCounts; label: string }[] = [
  { key: "held", label: "Held" },
  { key: "suppressed", label: "Suppressed" },
  { key: "bounced", label: "Bounced" },
  { key: "complained", label: "Complained" },
  { key: "unsubscribed", label: "Unsubscribed" },
  { key: "replied", label: "Replied" },
];

/** The newer counts, each shown when the server sends it and it is not zero. */
export function MoreCounts({ counts }: { counts: BatchCounts }) {
  return (
    <>
      {MORE.filter(({ key }) => typeof counts[key] === "number" && (counts[key] as number) > 0).map(({ key, label }) => (
        <div key={key}>
          <dt>{label}</dt>
          <dd data-testid={`batch-count-${key}`}>{(counts[key] as number).toLocaleString()}</dd>
        </div>
      ))}
    </>
  );
}

const PAGE = 100;
const MAX_PAGES = 20;

/** Per-step progress: the batch's own `steps` when present, else derived from its emails. */
export function BatchSteps({ batch }: { batch: Batch }) {
  const { api } = useAuth();
  const [open, setOpen] = useState(false);
  const [rows, setRows] = useState<StepProgress[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const fromServer = serverSteps(batch.steps);
  const load = useCallback(async () => {
    setError(null);
    try {
      const emails = [...(await allPages((p) => api.listScheduled({ batchId: batch.id, page: p, limit: PAGE }))), ...(await allPages((p) => api.listSent({ batchId: batch.id, page: p, limit: PAGE })))];
      setRows(stepProgress(emails, fromServer?.length ?? 1));
    } catch {
      setError("Couldn't load the emails of this batch.");
    }
  }, [api, batch.id, fromServer?.length]);
  const toggle = () => {
    setOpen(!open);
    if (!open) void load();
  };
  const shown: StepProgress[] | null = rows ?? (fromServer ? fromServer.map((s) => ({ ...s, repliedBy: [] })) : null);
  return (
    <div className="batch-steps">
      <button type="button" className="btn btn-ghost btn-sm" aria-expanded={open} onClick={toggle} data-testid="batch-steps-toggle">
        {open ? "Hide steps" : "Steps"}
      </button>
      {open && (error ? <p className="field-error">{error}</p> : shown ? <StepsTable rows={shown} /> : <Spinner label="Loading steps" />)}
    </div>
  );
}

async function allPages<E extends ScheduledEmail | SentEmail>(get: (page: number) => Promise<{ emails: E[]; pagination: { pages: number } }>): Promise<E[]> {
  const out: E[] = [];
  for (let p = 1; p <= MAX_PAGES; p++) {
    const res = await get(p);
    out.push(...res.emails);
    if (p >= res.pagination.pages) break;
  }
  return out;
}

function StepsTable({ rows }: { rows: StepProgress[] }) {
  const replied = [...new Set(rows.flatMap((r) => r.repliedBy))];
  return (
    <>
      <table className="table table-compact" data-testid="batch-steps">
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">Sent</th>
            <th scope="col">Pending</th>
            <th scope="col">Stopped</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.step} data-testid="batch-step-row" data-step={r.step}>
              <td>{r.step === 1 ? "1 (first email)" : `${r.step}${r.subject ? ` · ${r.subject}` : ""}`}</td>
              <td data-testid="batch-step-sent">{r.sent}</td>
              <td data-testid="batch-step-pending">{r.pending}</td>
              <td data-testid="batch-step-stopped">{r.stopped}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {replied.length > 0 && (
        <p className="hint" data-testid="batch-replied-by">
          Replied (their follow-ups stopped): {replied.join(", ")}
        </p>
      )}
    </>
  );
}
