import { useCallback, useEffect, useState } from "react";
import { describeError } from "../api/client";
import { pendingCount, type Batch, type BatchPage, type SenderAccount } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { useQuery } from "../hooks/useQuery";
import { summarizePlan } from "../lib/schedule";
import { formatDateTime, formatFull, relativeTime } from "../lib/time";
import { BatchAnalyticsPanel } from "./BatchAnalyticsPanel";
import { BatchAlerts, BatchSteps, MoreCounts } from "./BatchExtras";
import { ConfirmDialog } from "./Dialog";
import { EmptyState, ErrorState } from "./EmptyState";
import { LayersIcon, PauseIcon, PlayIcon, StopIcon } from "./Icons";
import { Pagination } from "./Pagination";
import { SkeletonLine, Spinner } from "./Skeleton";
import { StatusBadge } from "./StatusBadge";
import { useToasts } from "./Toasts";

type Action = "pause" | "resume" | "cancel";

/** Paginated list of the user's batches with their progress and controls. */
export function BatchesView({
  page,
  limit,
  tick,
  now,
  onQuery,
  onCompose,
  onViewEmails,
  onChanged,
  senders = [],
}: {
  senders?: SenderAccount[];
  page: number;
  limit: number;
  tick: number;
  now: number;
  onQuery: (q: { page?: number; limit?: number }) => void;
  onCompose: () => void;
  onViewEmails: (batchId: string, tab: "scheduled" | "sent") => void;
  onChanged: () => void;
}) {
  const { api } = useAuth();
  const fetcher = useCallback((signal: AbortSignal) => api.listBatches({ page, limit }, signal), [api, page, limit]);
  const { data, error, loading, reload } = useQuery<BatchPage>(`batches|${page}|${limit}`, fetcher, {
    tick,
    errorTitle: "Couldn't load batches",
  });

  return (
    <section className="card" aria-labelledby="batches-title" data-testid="batches-view">
      <div className="card-header">
        <div>
          <h2 id="batches-title">Batches</h2>
          <p className="muted">Every campaign you scheduled, with its progress. Pause, resume or cancel at any time.</p>
        </div>
      </div>
      {error != null && !data ? (
        <ErrorState message={describeError(error)} onRetry={reload} />
      ) : loading && !data ? (
        <div className="batch-list" aria-busy="true">
          {[0, 1, 2].map((i) => (
            <div key={i} className="batch-card" aria-hidden="true">
              <SkeletonLine width="40%" height={16} />
              <SkeletonLine width="70%" />
              <SkeletonLine height={10} />
            </div>
          ))}
        </div>
      ) : data && data.batches.length === 0 ? (
        <EmptyState
          title="No batches yet"
          icon={<LayersIcon />}
          testId="batches-empty"
          action={
            <button type="button" className="btn btn-primary" onClick={onCompose}>
              Schedule your first campaign
            </button>
          }
        >
          A batch is one campaign: a subject, a body and a list of recipients sent at your pace.
        </EmptyState>
      ) : (
        <BatchList batches={data?.batches ?? []} now={now} senders={senders} onViewEmails={onViewEmails} onChanged={() => { reload(); onChanged(); }} />
      )}
      {data && data.pagination.total > 0 && (
        <Pagination
          label="Batches"
          pagination={data.pagination}
          onPage={(p) => onQuery({ page: p })}
          onLimit={(l) => onQuery({ limit: l, page: 1 })}
        />
      )}
    </section>
  );
}

export function BatchList({
  batches,
  now,
  onViewEmails,
  onChanged,
  compact,
  senders = [],
}: {
  senders?: SenderAccount[];
  batches: Batch[];
  now: number;
  onViewEmails: (batchId: string, tab: "scheduled" | "sent") => void;
  onChanged: () => void;
  compact?: boolean;
}) {
  const { api } = useAuth();
  const toasts = useToasts();
  const [overrides, setOverrides] = useState<Record<string, Batch>>({});
  const [busy, setBusy] = useState<Record<string, Action | undefined>>({});
  const [confirming, setConfirming] = useState<Batch | null>(null);
  // The batch an action returned is shown until the next list from the server arrives.
  useEffect(() => setOverrides({}), [batches]);

  const run = async (batch: Batch, action: Action) => {
    setBusy((b) => ({ ...b, [batch.id]: action }));
    try {
      const updated =
        action === "pause"
          ? await api.pauseBatch(batch.id)
          : action === "resume"
            ? await api.resumeBatch(batch.id)
            : await api.cancelBatch(batch.id);
      if (updated && typeof updated === "object" && "id" in updated) {
        setOverrides((o) => ({ ...o, [batch.id]: updated }));
      }
      toasts.push({
        kind: "success",
        title: action === "pause" ? "Batch paused" : action === "resume" ? "Batch resumed" : "Batch cancelled",
        message: batch.subject,
      });
      onChanged();
    } catch (err) {
      toasts.push({
        kind: "error",
        title: `Couldn't ${action} the batch`,
        message: describeError(err),
        action: { label: "Retry", onClick: () => void run(batch, action) },
      });
    } finally {
      setBusy((b) => ({ ...b, [batch.id]: undefined }));
      setConfirming(null);
    }
  };

  return (
    <>
      <ul className={`batch-list${compact ? " compact" : ""}`} aria-label="Batches">
        {batches.map((b) => {
          const batch = overrides[b.id] ?? b;
          return (
            <BatchCard
              key={b.id}
              batch={batch}
              now={now}
              senders={senders}
              busy={busy[b.id]}
              onPause={() => void run(batch, "pause")}
              onResume={() => void run(batch, "resume")}
              onCancel={() => setConfirming(batch)}
              onViewEmails={onViewEmails}
            />
          );
        })}
      </ul>
      {confirming && (
        <ConfirmDialog
          title="Cancel this batch?"
          message={
            <>
              The {pendingCount(confirming.counts).toLocaleString()} emails of <strong>{confirming.subject}</strong> that
              have not been sent yet will not be sent. Emails already sent are not affected. This can't be undone.
            </>
          }
          confirmLabel="Cancel batch"
          cancelLabel="Keep sending"
          danger
          busy={busy[confirming.id] === "cancel"}
          onConfirm={() => void run(confirming, "cancel")}
          onCancel={() => setConfirming(null)}
        />
      )}
    </>
  );
}

function estimatedFinish(batch: Batch): number | null {
  if (batch.estimatedEndTime) {
    const t = Date.parse(batch.estimatedEndTime);
    if (!Number.isNaN(t)) return t;
  }
  const start = Date.parse(batch.startTime);
  if (Number.isNaN(start) || batch.counts.total === 0) return null;
  return summarizePlan({
    count: batch.counts.total,
    startMs: start,
    delayMs: batch.delayMs,
    hourlyLimit: Math.max(1, batch.hourlyLimit),
  }).finishMs;
}

export function BatchCard({
  batch,
  now,
  busy,
  onPause,
  onResume,
  onCancel,
  onViewEmails,
  senders = [],
}: {
  senders?: SenderAccount[];
  batch: Batch;
  now: number;
  busy?: Action;
  onPause: () => void;
  onResume: () => void;
  onCancel: () => void;
  onViewEmails: (batchId: string, tab: "scheduled" | "sent") => void;
}) {
  const c = batch.counts;
  const pending = pendingCount(c);
  const total = Math.max(1, c.total);
  const done = c.sent + c.failed + c.cancelled;
  const pct = Math.round((done / total) * 100);
  const estimate = estimatedFinish(batch);
  // A completed batch ended by now, whatever the plan said (retries, a pause).
  const finish = estimate !== null && batch.status === "completed" ? Math.min(estimate, now) : estimate;
  const canPause = batch.status === "active" && pending > 0;
  const canResume = batch.status === "paused";
  const canCancel = (batch.status === "active" || batch.status === "paused") && pending > 0;
  const seg = (n: number) => `${(n / total) * 100}%`;
  const titleId = `batch-${batch.id}-title`;

  return (
    <li className="batch-card" data-testid="batch-card" data-batch-id={batch.id} data-status={batch.status} aria-labelledby={titleId}>
      <div className="batch-top">
        <div className="batch-title-block">
          <h3 id={titleId} className="batch-title">
            {batch.subject || "(no subject)"}
          </h3>
          <div className="batch-meta muted">
            <BatchSenders batch={batch} />
            <span aria-hidden="true">·</span>
            <span title={formatFull(batch.createdAt)}>Created {relativeTime(Date.parse(batch.createdAt), now)}</span>
            <span aria-hidden="true">·</span>
            <span>
              {batch.hourlyLimit.toLocaleString()}/h, {(batch.delayMs / 1000).toLocaleString()} s apart
            </span>
          </div>
        </div>
        <StatusBadge status={batch.status} />
      </div>

      <BatchAlerts batch={batch} senders={senders} />

      <div
        className="progress"
        role="progressbar"
        aria-label={`Progress of ${batch.subject || "batch"}`}
        aria-valuemin={0}
        aria-valuemax={c.total}
        aria-valuenow={done}
        aria-valuetext={`${c.sent} sent, ${c.failed} failed, ${pending} pending${c.cancelled ? `, ${c.cancelled} cancelled` : ""} of ${c.total}`}
        data-testid="batch-progress"
      >
        <span className="progress-seg seg-sent" style={{ width: seg(c.sent) }} />
        <span className="progress-seg seg-failed" style={{ width: seg(c.failed) }} />
        <span className="progress-seg seg-cancelled" style={{ width: seg(c.cancelled) }} />
        <span
          className={`progress-seg seg-pending${batch.status === "active" ? " animated" : ""}`}
          style={{ width: seg(pending) }}
        />
      </div>

      <div className="batch-bottom">
        <dl className="batch-counts" data-testid="batch-counts">
          <div>
            <dt>
              <span className="legend-swatch swatch-sent" aria-hidden="true" /> Sent
            </dt>
            <dd data-testid="batch-count-sent">{c.sent.toLocaleString()}</dd>
          </div>
          <div>
            <dt>
              <span className="legend-swatch swatch-failed" aria-hidden="true" /> Failed
            </dt>
            <dd data-testid="batch-count-failed">{c.failed.toLocaleString()}</dd>
          </div>
          <div>
            <dt>
              <span className="legend-swatch swatch-pending" aria-hidden="true" /> Pending
            </dt>
            <dd data-testid="batch-count-pending">{pending.toLocaleString()}</dd>
          </div>
          {c.cancelled > 0 && (
            <div>
              <dt>
                <span className="legend-swatch swatch-cancelled" aria-hidden="true" /> Cancelled
              </dt>
              <dd data-testid="batch-count-cancelled">{c.cancelled.toLocaleString()}</dd>
            </div>
          )}
          <MoreCounts counts={c} />
          <div>
            <dt>Total</dt>
            <dd data-testid="batch-count-total">
              {c.total.toLocaleString()} <span className="hint">({pct}%)</span>
            </dd>
          </div>
          <div>
            <dt>{batch.status === "completed" || batch.status === "cancelled" ? "Ended" : "Est. finish"}</dt>
            <dd data-testid="batch-finish">
              {batch.status === "cancelled" ? (
                "Cancelled"
              ) : batch.status === "paused" ? (
                <span className="hint">On hold while paused</span>
              ) : finish !== null ? (
                <time dateTime={new Date(finish).toISOString()} title={formatFull(finish)}>
                  {formatDateTime(finish)} <span className="hint">({relativeTime(finish, now)})</span>
                </time>
              ) : (
                "—"
              )}
            </dd>
          </div>
        </dl>

        <div className="batch-actions">
          <button type="button" className="btn btn-ghost btn-sm" onClick={() => onViewEmails(batch.id, pending > 0 ? "scheduled" : "sent")}>
            View emails
          </button>
          {canPause && (
            <button
              type="button"
              className="btn btn-secondary btn-sm"
              onClick={onPause}
              disabled={!!busy}
              aria-label={`Pause batch ${batch.subject}`}
              data-testid="batch-pause"
            >
              {busy === "pause" ? <Spinner /> : <PauseIcon />} Pause
            </button>
          )}
          {canResume && (
            <button
              type="button"
              className="btn btn-primary btn-sm"
              onClick={onResume}
              disabled={!!busy}
              aria-label={`Resume batch ${batch.subject}`}
              data-testid="batch-resume"
            >
              {busy === "resume" ? <Spinner /> : <PlayIcon />} Resume
            </button>
          )}
          {canCancel && (
            <button
              type="button"
              className="btn btn-danger-ghost btn-sm"
              onClick={onCancel}
              disabled={!!busy}
              aria-label={`Cancel batch ${batch.subject}`}
              data-testid="batch-cancel"
            >
              {busy === "cancel" ? <Spinner /> : <StopIcon />} Cancel
            </button>
          )}
        </div>
      </div>
      <BatchSteps batch={batch} />
      <BatchAnalyticsPanel batch={batch} />
    </li>
  );
}

/** "From Ann <a@x>" for one sender; "From a@x, b@y (rotation)" for several. */
function BatchSenders({ batch }: { batch: Batch }) {
  const senders = batch.senders?.length ? batch.senders : [batch.sender];
  if (senders.length === 1) {
    const [s] = senders;
    return <span title={s.email} data-testid="batch-senders">From {s.name ? `${s.name} <${s.email}>` : s.email}</span>;
  }
  const all = senders.map((s) => s.email).join(", ");
  return (
    <span title={all} data-testid="batch-senders" data-count={senders.length}>
      From {all} ({senders.length} in rotation)
    </span>
  );
}
