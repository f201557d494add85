/**
 * A campaign's analytics (issue 27): the funnel sent → opened → clicked → replied
 * (people only), bounced and unsubscribed apart, machine hits apart, per step and per
 * sender.
 *
 * data-testid:
 *   batch-analytics-toggle   "Analytics" button that loads them
 *   batch-analytics          the panel; funnel-stage (data-stage) its funnel bars
 *   analytics-bounced, analytics-unsubscribed, analytics-machine-opens, analytics-machine-clicks
 *   analytics-step-row (data-step), analytics-sender-row (data-sender-id)
 */
import { useCallback, useState } from "react";
import type { Batch, BatchAnalytics, Funnel } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { funnelStages, percent } from "../lib/analytics";
import { Spinner } from "./Skeleton";

export function BatchAnalyticsPanel({ batch }: { batch: Batch }) {
  const { api } = useAuth();
  const [open, setOpen] = useState(false);
  const [data, setData] = useState<BatchAnalytics | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    setError(null);
    try {
      setData(await api.batchAnalytics(batch.id));
    } catch {
      setError("Couldn't load the analytics of this batch.");
    }
  }, [api, batch.id]);
  const toggle = () => {
    setOpen(!open);
    if (!open) void load();
  };
  return (
    <div className="batch-analytics">
      <button type="button" className="btn btn-ghost btn-sm" aria-expanded={open} onClick={toggle} data-testid="batch-analytics-toggle">
        {open ? "Hide analytics" : "Analytics"}
      </button>
      {open && (error ? <p className="field-error">{error}</p> : data ? <AnalyticsBody data={data} /> : <Spinner label="Loading analytics" />)}
    </div>
  );
}

function AnalyticsBody({ data }: { data: BatchAnalytics }) {
  return (
    <div data-testid="batch-analytics">
      <FunnelBars funnel={data} />
      <dl className="counts">
        <div><dt>Bounced</dt><dd data-testid="analytics-bounced">{data.bounced} ({percent(data.bounceRate)})</dd></div>
        <div><dt>Unsubscribed</dt><dd data-testid="analytics-unsubscribed">{data.unsubscribed}</dd></div>
        <div><dt>Machine opens</dt><dd data-testid="analytics-machine-opens">{data.machine.opens}</dd></div>
        <div><dt>Machine clicks</dt><dd data-testid="analytics-machine-clicks">{data.machine.clicks}</dd></div>
      </dl>
      <p className="hint">Rates count people: prefetches (Apple Mail Privacy Protection), link scanners and bursts on every link are the machine counts.</p>
      {data.byStep.length > 1 && <BreakdownTable title="Step" rows={data.byStep.map((r) => ({ key: String(r.step), testid: "analytics-step-row", attr: { "data-step": r.step }, label: r.step === 1 ? "1 (first email)" : String(r.step), f: r }))} />}
      {data.bySender.length > 0 && <BreakdownTable title="Sender" rows={data.bySender.map((r) => ({ key: r.senderId, testid: "analytics-sender-row", attr: { "data-sender-id": r.senderId }, label: r.senderId.slice(0, 8), f: r }))} />}
    </div>
  );
}

function FunnelBars({ funnel }: { funnel: Funnel }) {
  return (
    <ol className="funnel">
      {funnelStages(funnel).map((s) => (
        <li key={s.key} data-testid="funnel-stage" data-stage={s.key}>
          <span className="funnel-label">{s.label}</span>
          <span className="funnel-bar" style={{ width: `${Math.max(2, s.rate * 100)}%` }} aria-hidden="true" />
          <span className="funnel-count">{s.count.toLocaleString()}{s.key === "sent" ? "" : ` · ${percent(s.rate)}`}</span>
        </li>
      ))}
    </ol>
  );
}

interface Row {
  key: string;
  testid: string;
  attr: Record<string, string | number>;
  label: string;
  f: Funnel;
}

function BreakdownTable({ title, rows }: { title: string; rows: Row[] }) {
  return (
    <table className="table table-compact">
      <thead>
        <tr>
          <th scope="col">{title}</th>
          <th scope="col">Sent</th>
          <th scope="col">Opened</th>
          <th scope="col">Clicked</th>
          <th scope="col">Replied</th>
          <th scope="col">Bounced</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key} data-testid={r.testid} {...r.attr}>
            <td>{r.label}</td>
            <td>{r.f.sent}</td>
            <td>{r.f.opened} ({percent(r.f.openRate)})</td>
            <td>{r.f.clicked} ({percent(r.f.clickRate)})</td>
            <td>{r.f.replied} ({percent(r.f.replyRate)})</td>
            <td>{r.f.bounced}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
