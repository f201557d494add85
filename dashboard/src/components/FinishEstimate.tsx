import type { PlanSummary } from "../lib/schedule";
import { dualZoneTimes } from "../lib/sendingWindow";
import { formatDateTime, formatDuration, formatFull, relativeTime } from "../lib/time";

/**
 * The estimated finish line under the compose form's timing fields; with a
 * sending window in another zone, the finish in that zone too
 * (data-testid `estimate-window-zone`).
 */
export function FinishEstimate({
  plan,
  now,
  problem,
  windowZone = null,
  rotation = 1,
}: {
  /** Senders the recipients rotate over: the plan is the largest share's. */
  rotation?: number;
  plan: PlanSummary | null;
  now: number;
  problem?: string | null;
  windowZone?: string | null;
}) {
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
        {rotation > 1 ? ` per sender (${rotation} in rotation)` : ""}
        {plan.count > 1 ? `, one every ${formatDuration(plan.gapMs)}, over ${formatDuration(duration)}` : ""}
        {plan.limited ? ` · the hourly limit spreads it over ${plan.windows} hourly windows` : ""}
      </span>
      {windowZone && <WindowZoneLine ms={plan.finishMs} zone={windowZone} />}
    </div>
  );
}

function WindowZoneLine({ ms, zone }: { ms: number; zone: string }) {
  const t = dualZoneTimes(ms, zone);
  return (
    <span className="hint" data-testid="estimate-window-zone">
      {t.window ? `${t.window} in the window's zone (${zone}) · ${t.viewer} yours` : `Inside the window (${zone}); the server plans the exact times.`}
    </span>
  );
}
