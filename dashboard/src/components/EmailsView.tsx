import { useCallback, useEffect, useRef } from "react";
import { describeError } from "../api/client";
import type { Batch, EmailPage, ScheduledEmail, SentEmail } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { useQuery } from "../hooks/useQuery";
import { dualZoneTimes } from "../lib/sendingWindow";
import { BatchFilter } from "./BatchFilter";
import { EmptyState, ErrorState } from "./EmptyState";
import { CalendarIcon, InboxIcon } from "./Icons";
import { Pagination } from "./Pagination";
import { SkeletonRows } from "./Skeleton";
import { StatusBadge } from "./StatusBadge";
import { TimeCell } from "./TimeCell";

type Kind = "scheduled" | "sent";

export interface EmailsViewProps {
  kind: Kind;
  batchId: string;
  page: number;
  limit: number;
  tick: number;
  now: number;
  batches: Batch[];
  onQuery: (q: { batchId?: string; page?: number; limit?: number }) => void;
  onCompose: () => void;
}

export function EmailsView({ kind, batchId, page, limit, tick, now, batches, onQuery, onCompose }: EmailsViewProps) {
  const { api } = useAuth();
  const fetcher = useCallback(
    (signal: AbortSignal): Promise<EmailPage<ScheduledEmail | SentEmail>> => {
      const q = { page, limit, batchId: batchId || undefined };
      return kind === "sent" ? api.listSent(q, signal) : api.listScheduled(q, signal);
    },
    [api, kind, page, limit, batchId],
  );
  const { data, error, loading, reload } = useQuery(`${kind}|${batchId}|${page}|${limit}`, fetcher, {
    tick,
    errorTitle: kind === "sent" ? "Couldn't load sent emails" : "Couldn't load scheduled emails",
  });

  const title = kind === "sent" ? "Sent emails" : "Scheduled emails";
  const cols = 5;
  const emails = data?.emails ?? [];
  // Batches with a sending window: their times are shown in the window's zone too.
  const zoneOf = new Map(batches.filter((b) => b.sendingWindow?.timezone).map((b) => [b.id, b.sendingWindow!.timezone]));

  // A page past the end (e.g. after emails were sent) goes back to the last page.
  const onQueryRef = useRef(onQuery);
  onQueryRef.current = onQuery;
  const lastPage =
    data && emails.length === 0 && data.pagination.total > 0 && page > 1 ? Math.max(1, data.pagination.pages) : null;
  useEffect(() => {
    if (lastPage !== null) onQueryRef.current({ page: lastPage });
  }, [lastPage]);

  return (
    <section className="card" aria-labelledby={`${kind}-title`} data-testid={`${kind}-view`}>
      <div className="card-header">
        <div>
          <h2 id={`${kind}-title`}>{title}</h2>
          <p className="muted">
            {kind === "sent"
              ? "Delivered and failed emails, newest first."
              : "Emails waiting to go out, soonest first. Times respect each sender's hourly limit."}
          </p>
        </div>
        <BatchFilter
          id={`${kind}-batch-filter`}
          batches={batches}
          value={batchId}
          onChange={(b) => onQuery({ batchId: b, page: 1 })}
        />
      </div>

      {error != null && !data ? (
        <ErrorState message={describeError(error)} onRetry={reload} />
      ) : !loading && data && emails.length === 0 ? (
        kind === "sent" ? (
          <EmptyState
            title={batchId ? "Nothing sent from this batch yet" : "Nothing sent yet"}
            icon={<InboxIcon />}
            testId="sent-empty"
            action={
              <button type="button" className="btn btn-primary" onClick={onCompose}>
                Schedule a campaign
              </button>
            }
          >
            Sent and failed emails show up here as soon as they go out.
          </EmptyState>
        ) : (
          <EmptyState
            title={batchId ? "No emails waiting in this batch" : "No emails scheduled"}
            icon={<CalendarIcon />}
            testId="scheduled-empty"
            action={
              <button type="button" className="btn btn-primary" onClick={onCompose}>
                Compose a campaign
              </button>
            }
          >
            Upload a list of recipients, pick a start time and emailsched paces the sends for you.
          </EmptyState>
        )
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label={`${title}, scrolls sideways`}>
          <table className={`table${loading && data ? " is-stale" : ""}`} aria-label={title} aria-busy={loading} data-testid={`${kind}-table`}>
            <thead>
              <tr>
                <th scope="col">Recipient</th>
                <th scope="col">Subject</th>
                <th scope="col">{kind === "sent" ? "Sent" : "Scheduled for"}</th>
                <th scope="col">Status</th>
                <th scope="col">Sender</th>
              </tr>
            </thead>
            <tbody>
              {loading && !data ? (
                <SkeletonRows cols={cols} />
              ) : (
                emails.map((e) => (
                  <EmailRow key={e.id} email={e} kind={kind} now={now} windowZone={zoneOf.get(e.batchId) ?? null} />
                ))
              )}
            </tbody>
          </table>
        </div>
      )}

      {data && data.pagination.total > 0 && (
        <Pagination
          label={title}
          pagination={data.pagination}
          onPage={(p) => onQuery({ page: p })}
          onLimit={(l) => onQuery({ limit: l, page: 1 })}
        />
      )}
    </section>
  );
}

function EmailRow({ email, kind, now, windowZone }: { email: ScheduledEmail | SentEmail; kind: Kind; now: number; windowZone: string | null }) {
  const sent = kind === "sent" ? (email as SentEmail) : null;
  const time = sent ? sent.sentTime ?? email.scheduledTime : email.scheduledTime;
  return (
    <tr data-testid="email-row" data-status={email.status} data-batch-id={email.batchId}>
      <td className="cell-strong">
        <span className="truncate" title={email.recipientEmail}>
          {email.recipientEmail}
        </span>
      </td>
      <td>
        <span className="truncate" title={email.subject}>
          {email.subject}
        </span>
        {email.step !== undefined && email.step > 1 && (
          <span className="hint" data-testid="email-step">
            Follow-up {email.step - 1}
          </span>
        )}
      </td>
      <td>
        <TimeCell value={time} now={now} />
        <WindowZoneTime value={time} zone={windowZone} />
      </td>
      <td>
        <StatusBadge status={email.status} />
        {sent && sent.status === "failed" && sent.failureReason && (
          <div className="failure-reason" data-testid="failure-reason" title={sent.failureReason}>
            {sent.failureReason}
          </div>
        )}
        {sent && sent.attempts > 1 && <div className="hint">{sent.attempts} attempts</div>}
      </td>
      <td>
        <div className="sender-cell">
          <span className="truncate">{email.sender.name || email.sender.email}</span>
          {email.sender.name && <span className="hint truncate">{email.sender.email}</span>}
        </div>
      </td>
    </tr>
  );
}

/** The time in the batch's sending-window zone, when it differs from the viewer's (data-testid `email-window-time`). */
function WindowZoneTime({ value, zone }: { value: string | null | undefined; zone: string | null }) {
  if (!value || !zone) return null;
  const t = dualZoneTimes(Date.parse(value), zone);
  if (!t.window) return null;
  return (
    <span className="hint window-time" data-testid="email-window-time" title={`In the sending window's zone, ${zone}`}>
      {t.window}
    </span>
  );
}
