/**
 * Webhook endpoints (issue 28): add one with the events it receives, reveal its signing
 * secret on demand, send a test event, read the delivery log, replay an event, re-enable
 * a disabled endpoint, delete it.
 *
 * data-testid:
 *   webhooks               the panel
 *   webhook-url / webhook-description / webhook-event-<type> / webhook-create
 *   webhook-form-error     what the form or the server refused
 *   webhook-row            one endpoint; data-webhook-id, data-status
 *   webhook-disabled-reason
 *   webhook-reveal         "Reveal secret"; webhook-secret shows it (data-secret)
 *   webhook-test / webhook-enable / webhook-delete / webhook-deliveries-toggle
 *   webhook-delivery       one attempt; data-event-id, data-status-code
 *   webhook-replay         "Replay" on an attempt
 */
import { useCallback, useState, type FormEvent } from "react";
import { describeError } from "../../api/client";
import { WEBHOOK_EVENT_TYPES, type DeliveryPage, type Webhook, type WebhookList } from "../../api/integrationTypes";
import { useAuth } from "../../auth/AuthContext";
import { useQuery } from "../../hooks/useQuery";
import { deliveryOutcome, toggle, webhookFormProblems } from "../../lib/integrations";
import { formatDateTime } from "../../lib/time";
import { ConfirmDialog } from "../Dialog";
import { Spinner } from "../Skeleton";
import { useToasts } from "../Toasts";

export function WebhooksPanel() {
  const { api } = useAuth();
  const hooks = useQuery<WebhookList>("webhooks", useCallback((s: AbortSignal) => api.listWebhooks(s), [api]), {
    errorTitle: "Couldn't load webhooks",
  });
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [events, setEvents] = useState<string[]>(["reply.received"]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    const problems = webhookFormProblems(url, events);
    if (problems.url || problems.events) {
      setError(problems.url ?? problems.events ?? null);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.createWebhook({ url: url.trim(), events, description: description.trim() || undefined });
      setUrl("");
      setDescription("");
      hooks.reload();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="webhooks-title" data-testid="webhooks">
      <div className="card-header">
        <div>
          <h2 id="webhooks-title">Webhooks</h2>
          <p className="muted">
            Events are POSTed as they happen, signed the Standard Webhooks way (<code>webhook-id</code>, <code>webhook-timestamp</code>,{" "}
            <code>webhook-signature</code>) and retried for about a day.
          </p>
        </div>
      </div>
      <form className="form card-pad" onSubmit={(e) => void create(e)}>
        <div className="grid-2">
          <div className="field">
            <label htmlFor="webhook-url">Endpoint URL</label>
            <input id="webhook-url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://hooks.example.com/emailsched" data-testid="webhook-url" />
          </div>
          <div className="field">
            <label htmlFor="webhook-description">Description</label>
            <input id="webhook-description" value={description} onChange={(e) => setDescription(e.target.value)} placeholder="CRM" data-testid="webhook-description" />
          </div>
        </div>
        <fieldset className="field">
          <legend>Events</legend>
          <div className="chips">
            {WEBHOOK_EVENT_TYPES.map((type) => (
              <label key={type} className="checkbox-row">
                <input type="checkbox" checked={events.includes(type)} onChange={() => setEvents((ev) => toggle(WEBHOOK_EVENT_TYPES, ev, type))} data-testid={`webhook-event-${type}`} />{" "}
                {type}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="row-actions">
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="webhook-create">
            {busy ? <Spinner /> : null} Add endpoint
          </button>
        </div>
        {error && (
          <p className="callout callout-error" role="alert" data-testid="webhook-form-error">
            {error}
          </p>
        )}
      </form>
      <ul className="sender-list" aria-label="Webhook endpoints">
        {(hooks.data?.webhooks ?? []).map((w) => (
          <WebhookRow key={w.id} hook={w} onChanged={hooks.reload} />
        ))}
      </ul>
      {hooks.data && hooks.data.webhooks.length === 0 && <p className="muted card-pad">No endpoints yet.</p>}
    </section>
  );
}

function WebhookRow({ hook, onChanged }: { hook: Webhook; onChanged: () => void }) {
  const { api } = useAuth();
  const toasts = useToasts();
  const [secret, setSecret] = useState<string | null>(null);
  const [showLog, setShowLog] = useState(false);
  const [logTick, setLogTick] = useState(0);
  const [deleting, setDeleting] = useState(false);
  const act = async (what: string, run: () => Promise<unknown>) => {
    try {
      await run();
      toasts.push({ kind: "success", title: what });
      onChanged();
      setLogTick((t) => t + 1);
    } catch (err) {
      toasts.push({ kind: "error", title: `${what} failed`, message: describeError(err) });
    }
  };
  return (
    <li className="sender-row" data-testid="webhook-row" data-webhook-id={hook.id} data-status={hook.status}>
      <div className="sender-summary">
        <div style={{ display: "flex", gap: 8, alignItems: "center" }}>
          <strong className="truncate">{hook.url}</strong>
          <span className={`badge ${hook.status === "enabled" ? "badge-active" : "badge-failed"}`}>{hook.status}</span>
        </div>
        <p className="muted">
          {hook.description ? `${hook.description} · ` : ""}
          {hook.events.join(", ")}
        </p>
        {hook.disabledReason && (
          <p className="text-danger" data-testid="webhook-disabled-reason">
            Disabled: {hook.disabledReason}
          </p>
        )}
        {secret && (
          <p>
            Signing secret: <code className="chip-code" data-testid="webhook-secret" data-secret={secret}>{secret}</code>
          </p>
        )}
      </div>
      <div className="row-actions">
        <button type="button" className="btn btn-ghost btn-sm" data-testid="webhook-reveal"
          onClick={() => void (secret ? setSecret(null) : api.webhookSecret(hook.id).then((s) => setSecret(s.secret)).catch((err) =>
            toasts.push({ kind: "error", title: "Couldn't reveal the secret", message: describeError(err) })))}>
          {secret ? "Hide secret" : "Reveal secret"}
        </button>
        {hook.status === "enabled" ? (
          <button type="button" className="btn btn-secondary btn-sm" data-testid="webhook-test" onClick={() => void act("Test event sent", () => api.testWebhook(hook.id))}>
            Send test
          </button>
        ) : (
          <button type="button" className="btn btn-secondary btn-sm" data-testid="webhook-enable"
            onClick={() => void act("Endpoint enabled", () => api.updateWebhook(hook.id, { status: "enabled" }))}>
            Re-enable
          </button>
        )}
        <button type="button" className="btn btn-ghost btn-sm" data-testid="webhook-deliveries-toggle" onClick={() => setShowLog((v) => !v)}>
          {showLog ? "Hide deliveries" : "Deliveries"}
        </button>
        <button type="button" className="btn btn-danger-ghost btn-sm" data-testid="webhook-delete" onClick={() => setDeleting(true)}>
          Delete
        </button>
      </div>
      {showLog && <DeliveryLog hook={hook} tick={logTick} onReplay={(eventId) => void act("Event replayed", () => api.replayWebhookEvent(hook.id, eventId))} />}
      {deleting && (
        <ConfirmDialog
          title="Delete this endpoint?"
          message={<>Events stop going to <strong>{hook.url}</strong>; its delivery log goes too.</>}
          confirmLabel="Delete endpoint"
          danger
          onConfirm={() => void act("Endpoint deleted", () => api.deleteWebhook(hook.id)).finally(() => setDeleting(false))}
          onCancel={() => setDeleting(false)}
        />
      )}
    </li>
  );
}

function DeliveryLog({ hook, tick, onReplay }: { hook: Webhook; tick: number; onReplay: (eventId: string) => void }) {
  const { api } = useAuth();
  const [page, setPage] = useState(1);
  const log = useQuery<DeliveryPage>(
    `webhook-deliveries-${hook.id}-${page}`,
    useCallback((s: AbortSignal) => api.webhookDeliveries(hook.id, { page, limit: 20 }, s), [api, hook.id, page]),
    { tick, errorTitle: "Couldn't load deliveries" },
  );
  const rows = log.data?.deliveries ?? [];
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label="Webhook deliveries, scrolls sideways">
      <button type="button" className="btn btn-ghost btn-sm" onClick={log.reload}>
        Refresh
      </button>
      <table className="table table-compact">
        <thead>
          <tr>
            <th>When</th>
            <th>Event</th>
            <th>Attempt</th>
            <th>Answer</th>
            <th>Time</th>
            <th>Body</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => {
            const outcome = deliveryOutcome(d);
            return (
              <tr key={`${d.eventId}-${d.attempt}-${d.at}`} data-testid="webhook-delivery" data-event-id={d.eventId} data-status-code={d.statusCode ?? ""}>
                <td>{formatDateTime(d.at, true)}</td>
                <td>
                  {d.type} <code className="muted">{d.eventId}</code>
                </td>
                <td>{d.attempt}</td>
                <td className={outcome.tone === "success" ? "" : "text-danger"}>
                  {outcome.label}
                  {outcome.retryAt ? ` · retry ${formatDateTime(outcome.retryAt, true)}` : ""}
                </td>
                <td>{d.durationMs} ms</td>
                <td className="truncate">{d.responseBody ?? ""}</td>
                <td>
                  <button type="button" className="btn btn-ghost btn-sm" data-testid="webhook-replay" onClick={() => onReplay(d.eventId)}>
                    Replay
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {log.data && rows.length === 0 && <p className="muted card-pad">No deliveries yet.</p>}
      {log.data && log.data.pagination.pages > 1 && (
        <div className="pagination-controls">
          <button type="button" className="btn btn-ghost btn-sm" disabled={page <= 1} onClick={() => setPage((p) => p - 1)}>
            Newer
          </button>
          <button type="button" className="btn btn-ghost btn-sm" disabled={page >= log.data.pagination.pages} onClick={() => setPage((p) => p + 1)}>
            Older
          </button>
        </div>
      )}
    </div>
  );
}
