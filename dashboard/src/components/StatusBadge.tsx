import type { BatchStatus, EmailStatus } from "../api/types";

const LABELS: Record<EmailStatus | BatchStatus, string> = {
  scheduled: "Scheduled",
  queued: "Queued",
  sending: "Sending",
  sent: "Sent",
  failed: "Failed",
  paused: "Paused",
  cancelled: "Cancelled",
  held: "Held",
  suppressed: "Suppressed",
  replied: "Replied",
  active: "Active",
  completed: "Completed",
};

/** Statuses of other things (a sender account). */
const OTHER_LABELS: Record<string, string> = { failing: "Failing" };

export function StatusBadge({ status }: { status: EmailStatus | BatchStatus | string }) {
  const label = (LABELS as Record<string, string>)[status] ?? OTHER_LABELS[status] ?? status;
  return (
    <span className={`badge badge-${status}`} data-testid="status-badge" data-status={status}>
      <span className="badge-dot" aria-hidden="true" />
      {label}
    </span>
  );
}
