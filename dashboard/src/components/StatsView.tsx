import { useCallback, useId, useMemo, useRef, useState } from "react";
import type { Batch, Stats } from "../api/types";
import { lastHours, niceMax, type HourPoint } from "../lib/stats";
import { formatHour } from "../lib/time";
import { SkeletonLine } from "./Skeleton";

export function StatsCards({ stats, loading }: { stats: Stats | null; loading: boolean }) {
  const pending = stats ? stats.scheduled + stats.queued + stats.sending + (stats.paused ?? 0) + (stats.held ?? 0) : 0;
  const cards: { key: string; label: string; value: number | undefined; hint?: string; tone: string }[] = [
    {
      key: "scheduled",
      label: "Scheduled",
      value: stats ? pending : undefined,
      hint: stats
        ? `${stats.queued.toLocaleString()} queued · ${stats.sending.toLocaleString()} sending` +
          (stats.paused ? ` · ${stats.paused.toLocaleString()} paused` : "")
        : undefined,
      tone: "info",
    },
    {
      key: "sent",
      label: "Sent",
      value: stats?.sent,
      hint: stats ? `of ${stats.total.toLocaleString()} total` : undefined,
      tone: "success",
    },
    {
      key: "failed",
      label: "Failed",
      value: stats?.failed,
      hint: stats
        ? stats.sent + stats.failed > 0
          ? `${((stats.failed / (stats.sent + stats.failed)) * 100).toFixed(1)}% of delivered attempts`
          : "no sends yet"
        : undefined,
      tone: "danger",
    },
    {
      key: "sent-last-hour",
      label: "Sent in the last hour",
      value: stats?.sentLastHour,
      hint: stats ? `${stats.cancelled.toLocaleString()} cancelled overall` : undefined,
      tone: "brand",
    },
  ];
  return (
    <section className="stat-grid" aria-label="Statistics" data-testid="stats-cards">
      {cards.map((c) => (
        <div key={c.key} className={`stat-card tone-${c.tone}`} data-testid={`stat-${c.key}`}>
          <div className="stat-label">{c.label}</div>
          <div className="stat-value" data-testid={`stat-${c.key}-value`}>
            {c.value === undefined ? (loading ? <SkeletonLine width="60%" height={28} /> : "—") : c.value.toLocaleString()}
          </div>
          <div className="stat-hint">{c.hint ?? (loading ? <SkeletonLine width="80%" /> : "\u00a0")}</div>
        </div>
      ))}
    </section>
  );
}

type Outcome = "suppressed" | "replied" | "held";
const OUTCOMES: { key: Outcome; label: string }[] = [
  { key: "suppressed", label: "Suppressed (unsubscribed or bounced)" },
  { key: "replied", label: "Replied (follow-ups stopped)" },
  { key: "held", label: "Held (sender failing)" },
];

/**
 * Unsubscribes, bounces and replies: from the stats where the server counts them,
 * else summed over the recent batches' counts. Hidden while all are zero.
 * data-testid: stats-outcomes, stat-<suppressed|replied|held>-value.
 */
export function StatsOutcomes({ stats, batches }: { stats: Stats | null; batches: Batch[] }) {
  const value = (k: Outcome) => (typeof stats?.[k] === "number" ? stats[k]! : batches.reduce((n, b) => n + (b.counts[k] ?? 0), 0));
  const shown = OUTCOMES.map((o) => ({ ...o, n: value(o.key) })).filter((o) => o.n > 0);
  if (shown.length === 0) return null;
  return (
    <p className="stats-outcomes muted" data-testid="stats-outcomes">
      {shown.map((o) => (
        <span key={o.key}>
          {o.label}: <strong data-testid={`stat-${o.key}-value`}>{o.n.toLocaleString()}</strong>
        </span>
      ))}
    </p>
  );
}

const H = 220;

/** Width of an element, tracked with ResizeObserver (callback ref). */
function useWidth(initial: number): [(el: HTMLElement | null) => void, number] {
  const [width, setWidth] = useState(initial);
  const observer = useRef<ResizeObserver | null>(null);
  const ref = useCallback((el: HTMLElement | null) => {
    observer.current?.disconnect();
    observer.current = null;
    if (!el || typeof ResizeObserver === "undefined") return;
    const measure = (w: number) => setWidth(Math.max(280, Math.floor(w)));
    measure(el.getBoundingClientRect().width);
    observer.current = new ResizeObserver(([entry]) => measure(entry.contentRect.width));
    observer.current.observe(el);
  }, []);
  return [ref, width];
}
const PAD = { top: 12, right: 12, bottom: 28, left: 40 };

/** Stacked bars of sent and failed emails per hour, last 24 hours. Hand-rolled SVG. */
export function HourlyChart({ stats, now, loading }: { stats: Stats | null; now: number; loading: boolean }) {
  const points = useMemo(() => lastHours(stats?.perHour, now, 24), [stats, now]);
  const [hover, setHover] = useState<number | null>(null);
  const titleId = useId();
  const [measureRef, W] = useWidth(720);
  const max = niceMax(Math.max(...points.map((p) => p.sent + p.failed)));
  const totalSent = points.reduce((a, p) => a + p.sent, 0);
  const totalFailed = points.reduce((a, p) => a + p.failed, 0);
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const slot = innerW / points.length;
  const barW = Math.max(4, slot * 0.68);
  const y = (v: number) => PAD.top + innerH - (v / max) * innerH;
  const ticks = max >= 2 && max % 2 === 0 ? [0, max / 2, max] : [0, max];
  const shown = hover !== null ? points[hover] : null;

  return (
    <section className="card chart-card" aria-labelledby={titleId} data-testid="hourly-chart">
      <div className="card-header">
        <div>
          <h2 id={titleId}>Sends per hour</h2>
          <p className="muted">Last 24 hours, your time zone</p>
        </div>
        <div className="chart-legend" aria-hidden="true">
          <span className="legend-item">
            <span className="legend-swatch swatch-sent" /> Sent {totalSent.toLocaleString()}
          </span>
          <span className="legend-item">
            <span className="legend-swatch swatch-failed" /> Failed {totalFailed.toLocaleString()}
          </span>
        </div>
      </div>
      <div className="chart-wrap" ref={measureRef}>
      {loading && !stats ? (
        <div className="chart-skeleton" aria-hidden="true">
          <SkeletonLine height={H - 20} />
        </div>
      ) : (
        <>
          <svg
            viewBox={`0 0 ${W} ${H}`}
            className="chart"
            role="img"
            aria-label={`Bar chart: ${totalSent} sent and ${totalFailed} failed in the last 24 hours`}
            onMouseLeave={() => setHover(null)}
          >
            {ticks.map((t) => (
              <g key={t}>
                <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} className="grid-line" />
                <text x={PAD.left - 8} y={y(t) + 4} textAnchor="end" className="axis-label">
                  {Number.isInteger(t) ? t.toLocaleString() : t.toFixed(1)}
                </text>
              </g>
            ))}
            {totalSent + totalFailed === 0 && (
              <text x={PAD.left + innerW / 2} y={PAD.top + innerH / 2} textAnchor="middle" className="chart-empty">
                No emails sent in the last 24 hours
              </text>
            )}
            {points.map((p, i) => {
              const x = PAD.left + i * slot + (slot - barW) / 2;
              const sentTop = y(p.sent);
              const failTop = y(p.sent + p.failed);
              return (
                <g key={p.start} onMouseEnter={() => setHover(i)} className={hover === i ? "bar-hover" : undefined}>
                  <rect x={PAD.left + i * slot} y={PAD.top} width={slot} height={innerH} className="bar-hit" />
                  {p.sent > 0 && (
                    <rect x={x} y={sentTop} width={barW} height={PAD.top + innerH - sentTop} rx={2} className="bar-sent" />
                  )}
                  {p.failed > 0 && (
                    <rect x={x} y={failTop} width={barW} height={sentTop - failTop} rx={2} className="bar-failed" />
                  )}
                  {i % (slot < 34 ? 4 : 3) === 0 && (
                    <text x={x + barW / 2} y={H - 8} textAnchor="middle" className="axis-label">
                      {formatHour(p.start)}
                    </text>
                  )}
                  <title>{`${formatHour(p.start)}: ${p.sent} sent, ${p.failed} failed`}</title>
                </g>
              );
            })}
          </svg>
          <div className="chart-readout" aria-live="polite">
            {shown ? (
              <>
                <strong>{formatHour(shown.start)}</strong> · {shown.sent.toLocaleString()} sent ·{" "}
                {shown.failed.toLocaleString()} failed
              </>
            ) : (
              <span className="muted">Hover a bar for details</span>
            )}
          </div>
          <HourTable points={points} />
        </>
      )}
      </div>
    </section>
  );
}

/** The chart's numbers for screen readers. */
function HourTable({ points }: { points: HourPoint[] }) {
  return (
    <table className="visually-hidden">
      <caption>Emails per hour, last 24 hours</caption>
      <thead>
        <tr>
          <th scope="col">Hour</th>
          <th scope="col">Sent</th>
          <th scope="col">Failed</th>
        </tr>
      </thead>
      <tbody>
        {points.map((p) => (
          <tr key={p.start}>
            <td>{formatHour(p.start)}</td>
            <td>{p.sent}</td>
            <td>{p.failed}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
