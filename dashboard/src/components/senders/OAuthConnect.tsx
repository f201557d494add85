/**
 * Mailboxes connected by OAuth (issue 25): "Connect Google" / "Connect Microsoft"
 * (only for the providers the server has configured), Reconnect on a failing OAuth
 * sender, the provider's icon with the connection's age, and the toast for the
 * redirect back (`#/senders?connected=<id>` or `?error=<why>`).
 *
 * data-testid:
 *   senders-connect-google, senders-connect-microsoft   the connect buttons
 *   senders-connect-error                               why a start failed
 *   sender-reconnect                                    Reconnect on a failing OAuth sender
 *   sender-oauth                                        provider and age; data-provider
 */
import { useEffect, useState } from "react";
import { describeError } from "../../api/client";
import type { OAuthProvider, SenderAccount } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { connectionAge, oauthReturn, PROVIDER_NAMES } from "../../lib/oauth";
import { Spinner } from "../Skeleton";
import { useToasts } from "../Toasts";

/** Starts a consent and leaves for the provider's page. */
function useConnect(): { start: (p: OAuthProvider) => Promise<void>; busy: OAuthProvider | null; error: string | null } {
  const { api } = useAuth();
  const [busy, setBusy] = useState<OAuthProvider | null>(null);
  const [error, setError] = useState<string | null>(null);
  const start = async (provider: OAuthProvider) => {
    setBusy(provider);
    setError(null);
    try {
      const { authorizationUrl } = await api.startOAuth(provider);
      window.location.assign(authorizationUrl);
    } catch (err) {
      setError(describeError(err));
      setBusy(null);
    }
  };
  return { start, busy, error };
}

export function ConnectButtons({ providers }: { providers: OAuthProvider[] }) {
  const { start, busy, error } = useConnect();
  if (providers.length === 0) return null;
  return (
    <div className="oauth-connect">
      {providers.map((p) => (
        <button
          key={p}
          type="button"
          className="btn btn-secondary"
          disabled={!!busy}
          onClick={() => void start(p)}
          data-testid={`senders-connect-${p}`}
        >
          {busy === p ? <Spinner /> : <ProviderIcon provider={p} />} Connect {PROVIDER_NAMES[p]}
        </button>
      ))}
      {error && (
        <p className="field-error" role="alert" data-testid="senders-connect-error">
          {error}
        </p>
      )}
    </div>
  );
}

export function ReconnectButton({ sender }: { sender: SenderAccount }) {
  const { start, busy, error } = useConnect();
  const provider = sender.kind as OAuthProvider;
  return (
    <>
      <button type="button" className="btn btn-primary btn-sm" disabled={!!busy} onClick={() => void start(provider)} data-testid="sender-reconnect">
        {busy ? <Spinner /> : null} Reconnect
      </button>
      {error && <span className="field-error">{error}</span>}
    </>
  );
}

export function OAuthBadge({ sender, now }: { sender: SenderAccount; now: number }) {
  if (!sender.oauth) return null;
  return (
    <span className="oauth-badge" data-testid="sender-oauth" data-provider={sender.oauth.provider}>
      <ProviderIcon provider={sender.oauth.provider} /> {PROVIDER_NAMES[sender.oauth.provider]} ·{" "}
      {connectionAge(sender.oauth.connectedAt, now)}
    </span>
  );
}

export function ProviderIcon({ provider }: { provider: OAuthProvider }) {
  if (provider === "google")
    return (
      <svg width="14" height="14" viewBox="0 0 24 24" aria-hidden="true">
        <path fill="#4285F4" d="M23 12.3c0-.8-.1-1.6-.2-2.3H12v4.4h6.2a5.3 5.3 0 0 1-2.3 3.5v2.9h3.7c2.2-2 3.4-5 3.4-8.5z" />
        <path fill="#34A853" d="M12 23.5c3.1 0 5.7-1 7.6-2.8l-3.7-2.9c-1 .7-2.4 1.1-3.9 1.1-3 0-5.5-2-6.4-4.7H1.8v3A11.5 11.5 0 0 0 12 23.5z" />
        <path fill="#FBBC05" d="M5.6 14.2a6.9 6.9 0 0 1 0-4.4v-3H1.8a11.5 11.5 0 0 0 0 10.4l3.8-3z" />
        <path fill="#EA4335" d="M12 4.6c1.7 0 3.2.6 4.4 1.7l3.3-3.3A11.5 11.5 0 0 0 1.8 6.8l3.8 3C6.5 6.8 9 4.6 12 4.6z" />
      </svg>
    );
  return (
    <svg width="14" height="14" viewBox="0 0 24 24" aria-hidden="true">
      <path fill="#F25022" d="M1 1h10.5v10.5H1z" />
      <path fill="#7FBA00" d="M12.5 1H23v10.5H12.5z" />
      <path fill="#00A4EF" d="M1 12.5h10.5V23H1z" />
      <path fill="#FFB900" d="M12.5 12.5H23V23H12.5z" />
    </svg>
  );
}

/** The redirect back from a consent, shown as a toast once, then cleared from the URL. */
export function useOAuthReturn(params: URLSearchParams, clear: () => void, reload: () => void): void {
  const toasts = useToasts();
  const back = oauthReturn(params);
  const key = back ? `${back.kind}:${back.kind === "connected" ? back.senderId : back.message}` : "";
  useEffect(() => {
    if (!back) return;
    if (back.kind === "connected") {
      toasts.push({ kind: "success", title: "Mailbox connected", message: "It can send now; its emails held before go out." });
      reload();
    } else {
      toasts.push({ kind: "error", title: "Mailbox not connected", message: back.message, timeout: 12000 });
    }
    clear();
    // Once per redirect: `key` names it.
  }, [key]);
}
