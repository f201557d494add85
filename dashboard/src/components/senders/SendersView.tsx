/**
 * The Senders page (issue 13): the user's mailboxes with kind, status and last
 * error, limits and sent today against the daily cap; add (tested first), edit
 * limits, verify again, delete (409 while it has unsent emails: the reason shown).
 *
 * data-testid:
 *   senders-view           the page
 *   senders-add            "Add a sender"
 *   senders-empty          the empty state
 *   senders-help           how to add a real account / what `emailsched dev` does
 *   sender-row             one sender; data-sender-id, data-status, data-kind
 *   sender-status          its status badge
 *   sender-last-error      its last error (failing senders)
 *   sender-sent-today      "N / cap today"; data-sent, data-cap
 *   sender-verify          "Verify again"
 *   sender-edit            "Edit"
 *   sender-delete          "Delete"
 *   sender-row-message     the answer of the last action on that row (e.g. why delete was refused)
 *   sender-dns             its domain's health (DomainHealth.tsx)
 */
import { useState } from "react";
import { describeError } from "../../api/client";
import type { OAuthProvider, SenderAccount } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { useNow } from "../../hooks/useNow";
import { needsReconnect } from "../../lib/oauth";
import { dailyUsage, senderLabel } from "../../lib/senders";
import { ConfirmDialog } from "../Dialog";
import { EmptyState, ErrorState } from "../EmptyState";
import { PlusIcon, SendIcon } from "../Icons";
import { Spinner } from "../Skeleton";
import { StatusBadge } from "../StatusBadge";
import { useToasts } from "../Toasts";
import { ConnectButtons, OAuthBadge, ReconnectButton, useOAuthReturn } from "./OAuthConnect";
import { DomainHealth } from "./DomainHealth";
import { rejectionText, SenderForm } from "./SenderForm";
import { TestSenderButton, type CaptureSmtp } from "./TestSenderButton";

type Editing = { sender: SenderAccount | null } | null;
type RowAction = "verify" | "delete";

export function SendersView({
  senders,
  loading,
  error,
  reload,
  oauthProviders = [],
  params = new URLSearchParams(),
  clearParams = () => {},
  testSmtp = null,
}: {
  senders: SenderAccount[] | null;
  loading: boolean;
  error: unknown;
  reload: () => void;
  /** The OAuth providers the server has configured (GET /auth/config). */
  oauthProviders?: OAuthProvider[];
  /** The route's query: `connected` or `error` after a consent. */
  params?: URLSearchParams;
  clearParams?: () => void;
  testSmtp?: CaptureSmtp | null;
}) {
  const [editing, setEditing] = useState<Editing>(null);
  const toasts = useToasts();
  useOAuthReturn(params, clearParams, reload);
  const saved = (s: SenderAccount) => {
    setEditing(null);
    reload();
    toasts.push({ kind: "success", title: editing?.sender ? "Sender saved" : "Sender added", message: senderLabel(s) });
  };
  return (
    <section className="card" aria-labelledby="senders-title" data-testid="senders-view">
      <div className="card-header">
        <div>
          <h2 id="senders-title">Senders</h2>
          <p className="muted">The mailboxes your campaigns go out through, each with its own limits.</p>
        </div>
        <div className="card-actions">
          <ConnectButtons providers={oauthProviders} />
          {testSmtp && <TestSenderButton smtp={testSmtp} senders={senders} onAdded={saved} />}
          <button type="button" className="btn btn-primary" onClick={() => setEditing({ sender: null })} data-testid="senders-add">
            <PlusIcon /> Add a sender
          </button>
        </div>
      </div>
      {error != null && !senders ? (
        <ErrorState message={describeError(error)} onRetry={reload} />
      ) : loading && !senders ? (
        <div className="card-pad">
          <Spinner label="Loading senders" />
        </div>
      ) : senders && senders.length === 0 ? (
        <EmptyState title="No senders yet" icon={<SendIcon />} testId="senders-empty">
          Add your own SMTP mailbox, or just schedule a campaign: in <code>emailsched dev</code> its From address becomes a relay sender.
        </EmptyState>
      ) : (
        <ul className="sender-list" aria-label="Senders">
          {(senders ?? []).map((s) => (
            <SenderRow key={s.id} sender={s} onEdit={() => setEditing({ sender: s })} onChanged={reload} />
          ))}
        </ul>
      )}
      <SendersHelp />
      {editing && <SenderForm sender={editing.sender} onClose={() => setEditing(null)} onSaved={saved} />}
    </section>
  );
}

function SenderRow({ sender, onEdit, onChanged }: { sender: SenderAccount; onEdit: () => void; onChanged: () => void }) {
  const { api } = useAuth();
  const [busy, setBusy] = useState<RowAction | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [confirming, setConfirming] = useState(false);
  const run = async (action: RowAction) => {
    setBusy(action);
    setMessage(null);
    try {
      if (action === "verify") await api.verifySender(sender.id);
      else await api.deleteSender(sender.id);
      setMessage({ ok: true, text: action === "verify" ? "Verified: the server accepted the login." : "Deleted." });
      onChanged();
    } catch (err) {
      setMessage({ ok: false, text: deleteOrVerifyText(action, err) });
    } finally {
      setBusy(null);
      setConfirming(false);
    }
  };
  return (
    <li className="sender-row" data-testid="sender-row" data-sender-id={sender.id} data-status={sender.status} data-kind={sender.kind}>
      <SenderSummary sender={sender} />
      <DomainHealth senderId={sender.id} />
      <div className="batch-actions">
        {needsReconnect(sender) && <ReconnectButton sender={sender} />}
        <button type="button" className="btn btn-secondary btn-sm" disabled={!!busy} onClick={() => void run("verify")} data-testid="sender-verify">
          {busy === "verify" ? <Spinner /> : null} Verify again
        </button>
        <button type="button" className="btn btn-ghost btn-sm" onClick={onEdit} data-testid="sender-edit">
          Edit
        </button>
        <button type="button" className="btn btn-danger-ghost btn-sm" disabled={!!busy} onClick={() => setConfirming(true)} data-testid="sender-delete">
          Delete
        </button>
      </div>
      {message && (
        <p className={message.ok ? "hint" : "field-error"} role="status" data-testid="sender-row-message">
          {message.text}
        </p>
      )}
      {confirming && (
        <ConfirmDialog
          title="Delete this sender?"
          message={<>Campaigns can no longer go out through <strong>{senderLabel(sender)}</strong>. Its sent history stays.</>}
          confirmLabel="Delete sender"
          danger
          busy={busy === "delete"}
          onConfirm={() => void run("delete")}
          onCancel={() => setConfirming(false)}
        />
      )}
    </li>
  );
}

function deleteOrVerifyText(action: RowAction, err: unknown): string {
  const status = (err as { status?: number }).status;
  if (action === "delete" && status === 409)
    return `Not deleted: it still has unsent emails. Let them go out, or cancel their batches, then delete it. (${describeError(err)})`;
  return action === "verify" ? `Verification failed. The server said: ${rejectionText(err)}` : describeError(err);
}

function SenderSummary({ sender }: { sender: SenderAccount }) {
  const usage = dailyUsage(sender);
  const now = useNow(60_000);
  const limits = [
    sender.hourlyLimit ? `${sender.hourlyLimit}/h` : "no hourly cap",
    sender.minDelayMs !== null && sender.minDelayMs !== undefined ? `${sender.minDelayMs} ms apart` : null,
    sender.timezone,
  ].filter(Boolean);
  return (
    <div className="sender-summary">
      <div className="batch-top">
        <div>
          <h3 className="batch-title">{senderLabel(sender)}</h3>
          <div className="batch-meta muted">
            {sender.oauth ? (
              <OAuthBadge sender={sender} now={now} />
            ) : (
              <span>{sender.kind === "relay" ? "Relay (the deployment's server)" : `SMTP ${sender.smtp?.host}:${sender.smtp?.port} · ${sender.smtp?.security}`}</span>
            )}
            <span aria-hidden="true">·</span>
            <span>{limits.join(" · ")}</span>
          </div>
        </div>
        <span data-testid="sender-status">
          <StatusBadge status={sender.status} />
        </span>
      </div>
      {sender.status === "failing" && (
        <div className="callout callout-error" data-testid="sender-last-error">
          <div>
            <strong>Failing: its emails are held until it works again.</strong> Last error: <code>{sender.lastError ?? "unknown"}</code>
          </div>
        </div>
      )}
      <div className="usage" data-testid="sender-sent-today" data-sent={usage.sent} data-cap={usage.cap ?? ""}>
        <span className="hint">Sent today: {usage.label}</span>
        {usage.pct !== null && (
          <span className="usage-bar" role="progressbar" aria-label="Sent today against the daily cap" aria-valuemin={0} aria-valuemax={usage.cap ?? 0} aria-valuenow={usage.sent}>
            <span style={{ width: `${usage.pct}%` }} className={usage.pct >= 100 ? "full" : ""} />
          </span>
        )}
      </div>
    </div>
  );
}

function SendersHelp() {
  return (
    <div className="card-pad senders-help" data-testid="senders-help">
      <h3>Adding a real mailbox</h3>
      <p className="muted">
        Use your provider's SMTP settings (host, port, security, login and an app password). For a free test account that
        works like a real one, create one at <a href="https://ethereal.email" target="_blank" rel="noreferrer">ethereal.email</a>{" "}
        and use <code>smtp.ethereal.email</code>, port <code>587</code>, STARTTLS, with its user and password: the mail is
        caught there instead of delivered. The account is tested when you add it; nothing is sent.
      </p>
      <p className="muted">
        In <code>emailsched dev</code> nothing needs setting up: the first campaign from a new From address makes a relay
        sender for it, and its mail lands in the local capture inbox.
      </p>
    </div>
  );
}
