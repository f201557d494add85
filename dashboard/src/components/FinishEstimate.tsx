import type { PlanSummary } from "../lib/schedule";
import { formatDateTime, formatDuration, formatFull, relativeTime } from "../lib/time";

/** The estimated finish line under the compose form's timing fields. */
export function FinishEstimate({ plan, now, problem }: { plan: PlanSummary | null; now: number; problem?: string | null }) {
  if (problem) {
    return (
      <div className="estimate estimate-muted" data-testid="estimate-finish" aria-live="polite">
        <span className="estimate-label">Estimated finish</span>
        <span className="hint">{problem}</span>
      </div>
    );
  }
  if (!plan || plan.finishMs === null || plan.firstMs === null) {
    return (
      <div className="estimate estimate-muted" data-testid="estimate-finish" aria-live="polite">
        <span className="estimate-label">Estimated finish</span>
        <span className="hint">Add recipients to see when the last email goes out.</span>
      </div>
    );
  }
  const duration = plan.finishMs - plan.firstMs;
  return (
    <div className="estimate" data-testid="estimate-finish" data-finish={new Date(plan.finishMs).toISOString()} aria-live="polite">
      <span className="estimate-label">Estimated finish</span>
      <span className="estimate-value">
        <time dateTime={new Date(plan.finishMs).toISOString()} title={formatFull(plan.finishMs)}>
          {formatDateTime(plan.finishMs, true)}
        </time>{" "}
        <span className="hint">({relativeTime(plan.finishMs, now)})</span>
      </span>
      <span className="hint">
        {plan.count.toLocaleString()} {plan.count === 1 ? "email" : "emails"}
        {plan.count > 1 ? `, one every ${formatDuration(plan.gapMs)}, over ${formatDuration(duration)}` : ""}
        {plan.limited ? ` · the hourly limit spreads it over ${plan.windows} hourly windows` : ""}
      </span>
    </div>
  );
}
