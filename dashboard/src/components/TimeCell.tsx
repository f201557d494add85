import { formatDateTime, formatFull, relativeTime } from "../lib/time";

/** A local date-time with a relative hint ("in 5 minutes") underneath. */
export function TimeCell({ value, now }: { value: string | null | undefined; now: number }) {
  if (!value) return <span className="muted">—</span>;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return <span className="muted">{value}</span>;
  return (
    <time dateTime={value} title={formatFull(d)} className="time-cell">
      <span>{formatDateTime(d, true)}</span>
      <span className="hint">{relativeTime(d, now)}</span>
    </time>
  );
}
