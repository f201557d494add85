/**
 * API keys (issue 28): create one with its scopes, copy it once, revoke it.
 *
 * data-testid:
 *   api-keys               the panel
 *   api-key-name           the new key's name
 *   api-key-scope-<scope>  a scope's checkbox
 *   api-key-create         "Create key"
 *   api-key-created        the new key, shown once; data-key holds it
 *   api-key-copy           "Copy"
 *   api-key-row            one key; data-key-id
 *   api-key-revoke         "Revoke"
 */
import { useCallback, useState, type FormEvent } from "react";
import { describeError } from "../../api/client";
import { API_KEY_SCOPES, type ApiKey, type ApiKeyCreated, type ApiKeyList } from "../../api/integrationTypes";
import { useAuth } from "../../auth/AuthContext";
import { useQuery } from "../../hooks/useQuery";
import { toggle } from "../../lib/integrations";
import { formatDateTime } from "../../lib/time";
import { ConfirmDialog } from "../Dialog";
import { Spinner } from "../Skeleton";

export function ApiKeysPanel() {
  const { api } = useAuth();
  const keys = useQuery<ApiKeyList>("api-keys", useCallback((s: AbortSignal) => api.listApiKeys(s), [api]), {
    errorTitle: "Couldn't load API keys",
  });
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>(["read"]);
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [copied, setCopied] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setCreated(await api.createApiKey({ name: name.trim(), scopes }));
      setCopied(false);
      setName("");
      keys.reload();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  const copy = async () => {
    if (!created) return;
    await navigator.clipboard?.writeText(created.key).catch(() => undefined);
    setCopied(true);
  };
  const revoke = async () => {
    if (!revoking) return;
    setBusy(true);
    try {
      await api.deleteApiKey(revoking.id);
      if (created?.id === revoking.id) setCreated(null);
      keys.reload();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
      setRevoking(null);
    }
  };

  return (
    <section className="card" aria-labelledby="api-keys-title" data-testid="api-keys">
      <div className="card-header">
        <div>
          <h2 id="api-keys-title">API keys</h2>
          <p className="muted">
            For scripts and integrations: send <code>Authorization: Bearer es_…</code>. A key can do what its scopes allow, never manage keys.
          </p>
        </div>
      </div>
      <form className="form card-pad" onSubmit={(e) => void create(e)}>
        <div className="field">
          <label htmlFor="api-key-name">Name</label>
          <input id="api-key-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="CRM sync" required data-testid="api-key-name" />
        </div>
        <fieldset className="field">
          <legend>Scopes</legend>
          <div className="chips">
            {API_KEY_SCOPES.map((scope) => (
              <label key={scope} className="checkbox-row">
                <input
                  type="checkbox"
                  checked={scopes.includes(scope)}
                  onChange={() => setScopes((s) => toggle(API_KEY_SCOPES, s, scope))}
                  data-testid={`api-key-scope-${scope}`}
                />{" "}
                {scope}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="row-actions">
          <button type="submit" className="btn btn-primary" disabled={busy || !name.trim() || scopes.length === 0} data-testid="api-key-create">
            {busy ? <Spinner /> : null} Create key
          </button>
        </div>
        {error && (
          <p className="callout callout-error" role="alert">
            {error}
          </p>
        )}
        {created && (
          <div className="callout callout-success" role="status" data-testid="api-key-created" data-key={created.key}>
            <p>
              <strong>{created.name}</strong>: copy this key now, it is not shown again.
            </p>
            <code className="chip-code">{created.key}</code>{" "}
            <button type="button" className="btn btn-secondary btn-sm" onClick={() => void copy()} data-testid="api-key-copy">
              {copied ? "Copied" : "Copy"}
            </button>
          </div>
        )}
      </form>
      <div className="table-wrap" tabIndex={0} role="region" aria-label="API keys, scrolls sideways">
        <table className="table table-compact">
          <thead>
            <tr>
              <th>Name</th>
              <th>Scopes</th>
              <th>Created</th>
              <th>Last used</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(keys.data?.apiKeys ?? []).map((k) => (
              <tr key={k.id} data-testid="api-key-row" data-key-id={k.id}>
                <td className="cell-strong">{k.name}</td>
                <td>{k.scopes.join(", ")}</td>
                <td>{formatDateTime(k.createdAt)}</td>
                <td>{k.lastUsedAt ? formatDateTime(k.lastUsedAt) : "never"}</td>
                <td>
                  <button type="button" className="btn btn-danger-ghost btn-sm" onClick={() => setRevoking(k)} data-testid="api-key-revoke">
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {keys.data && keys.data.apiKeys.length === 0 && <p className="muted card-pad">No API keys yet.</p>}
      </div>
      {revoking && (
        <ConfirmDialog
          title="Revoke this key?"
          message={<>Requests with <strong>{revoking.name}</strong> are refused from now on.</>}
          confirmLabel="Revoke key"
          danger
          busy={busy}
          onConfirm={() => void revoke()}
          onCancel={() => setRevoking(null)}
        />
      )}
    </section>
  );
}
