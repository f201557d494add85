/**
 * The suppression list (issue 14): addresses that are never sent to
 * (unsubscribed, hard bounces, complaints, added by hand). Add, remove, import a
 * CSV (one address per line, or an email column) and export one.
 *
 * data-testid:
 *   suppressions-view        the page
 *   suppressions-add-input   the addresses to add (textarea)
 *   suppressions-add         "Suppress"
 *   suppressions-import      the import file input
 *   suppressions-export      "Export CSV"
 *   suppressions-message     the outcome of the last add/import
 *   suppressions-empty       the empty state
 *   suppression-row          one address; data-email, data-reason
 *   suppression-remove       remove it
 */
import { useCallback, useRef, useState, type ChangeEvent } from "react";
import { describeError } from "../../api/client";
import type { Suppression, SuppressionPage } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { useQuery } from "../../hooks/useQuery";
import { parseSuppressionImport, SUPPRESSION_REASON_LABELS, suppressionsToCsv } from "../../lib/suppressionsCsv";
import { formatDateTime } from "../../lib/time";
import { EmptyState, ErrorState } from "../EmptyState";
import { InboxIcon, UploadIcon } from "../Icons";
import { Pagination } from "../Pagination";
import { SkeletonRows, Spinner } from "../Skeleton";
import { countOf } from "../../lib/plural";

const EXPORT_PAGE = 100;
const EXPORT_MAX_PAGES = 1000;

export function SuppressionsView({ page, limit, tick, onQuery }: { page: number; limit: number; tick: number; onQuery: (q: { page?: number; limit?: number }) => void }) {
  const { api } = useAuth();
  const fetcher = useCallback((s: AbortSignal) => api.listSuppressions({ page, limit }, s), [api, page, limit]);
  const q = useQuery<SuppressionPage>(`suppressions|${page}|${limit}`, fetcher, { tick, errorTitle: "Couldn't load the suppression list" });
  const rows = q.data?.suppressions ?? [];
  return (
    <section className="card" aria-labelledby="suppressions-title" data-testid="suppressions-view">
      <div className="card-header">
        <div>
          <h2 id="suppressions-title">Suppressions</h2>
          <p className="muted">
            Addresses never sent to: unsubscribes (one click, from every email), hard bounces, complaints and your own
            additions. Scheduling drops them and counts them; an address suppressed later is skipped at send time.
          </p>
        </div>
        <ExportButton />
      </div>
      <AddSuppressions onAdded={q.reload} />
      {q.error != null && !q.data ? (
        <ErrorState message={describeError(q.error)} onRetry={q.reload} />
      ) : q.data && rows.length === 0 ? (
        <EmptyState title="Nobody suppressed" icon={<InboxIcon />} testId="suppressions-empty">
          When someone unsubscribes or an address bounces for good, it shows up here.
        </EmptyState>
      ) : (
        <SuppressionTable rows={rows} loading={q.loading && !q.data} onRemoved={q.reload} />
      )}
      {q.data && q.data.pagination.total > 0 && (
        <Pagination label="Suppressions" pagination={q.data.pagination} onPage={(p) => onQuery({ page: p })} onLimit={(l) => onQuery({ limit: l, page: 1 })} />
      )}
    </section>
  );
}

function SuppressionTable({ rows, loading, onRemoved }: { rows: Suppression[]; loading: boolean; onRemoved: () => void }) {
  const { api } = useAuth();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const remove = async (email: string) => {
    setBusy(email);
    setError(null);
    try {
      await api.deleteSuppression(email);
      onRemoved();
    } catch (err) {
      setError(`Couldn't remove ${email}: ${describeError(err)}`);
    } finally {
      setBusy(null);
    }
  };
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label="Suppressed addresses, scrolls sideways">
      {error && <p className="field-error" role="alert">{error}</p>}
      <table className="table" aria-label="Suppressed addresses" data-testid="suppressions-table">
        <thead>
          <tr>
            <th scope="col">Address</th>
            <th scope="col">Reason</th>
            <th scope="col">Since</th>
            <th scope="col"><span className="visually-hidden">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {loading ? (
            <SkeletonRows cols={4} />
          ) : (
            rows.map((r) => (
              <tr key={r.email} data-testid="suppression-row" data-email={r.email} data-reason={r.reason}>
                <td className="cell-strong">{r.email}</td>
                <td>{SUPPRESSION_REASON_LABELS[r.reason] ?? r.reason}</td>
                <td>{formatDateTime(r.createdAt)}</td>
                <td>
                  <button type="button" className="btn btn-ghost btn-sm" disabled={busy === r.email} onClick={() => void remove(r.email)} aria-label={`Remove ${r.email}`} data-testid="suppression-remove">
                    Remove
                  </button>
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

function AddSuppressions({ onAdded }: { onAdded: () => void }) {
  const { api } = useAuth();
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const file = useRef<HTMLInputElement>(null);
  const add = async (source: string, what: string) => {
    const parsed = parseSuppressionImport(source);
    const skipped = parsed.invalid.length ? ` ${countOf(parsed.invalid.length, "line", "lines")} without an address skipped (first: line ${parsed.invalid[0].line}).` : "";
    if (parsed.emails.length === 0) return setMessage({ ok: false, text: `No addresses found in ${what}.${skipped}` });
    setBusy(true);
    try {
      await api.addSuppressions(parsed.emails);
      setMessage({ ok: true, text: `Suppressed ${parsed.emails.length.toLocaleString()} ${parsed.emails.length === 1 ? "address" : "addresses"}.${skipped}` });
      setText("");
      onAdded();
    } catch (err) {
      setMessage({ ok: false, text: describeError(err) });
    } finally {
      setBusy(false);
    }
  };
  const onFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const f = e.target.files?.[0];
    e.target.value = "";
    if (f) await add(await f.text(), f.name);
  };
  return (
    <div className="card-pad suppress-add">
      <label htmlFor="suppressions-add-input">Addresses to suppress</label>
      <textarea id="suppressions-add-input" className="code-input" rows={3} value={text} onChange={(e) => setText(e.target.value)} placeholder={"one@example.com\ntwo@example.com"} data-testid="suppressions-add-input" />
      <div className="row-actions">
        <button type="button" className="btn btn-primary btn-sm" disabled={busy || !text.trim()} onClick={() => void add(text, "the text")} data-testid="suppressions-add">
          {busy ? <Spinner /> : null} Suppress
        </button>
        <input ref={file} type="file" accept=".csv,.txt,text/csv,text/plain" className="visually-hidden" onChange={(e) => void onFile(e)} aria-label="Import a CSV of addresses" data-testid="suppressions-import" />
        <button type="button" className="btn btn-secondary btn-sm" onClick={() => file.current?.click()}>
          <UploadIcon /> Import CSV
        </button>
      </div>
      {message && (
        <p className={message.ok ? "hint" : "field-error"} role="status" data-testid="suppressions-message">
          {message.text}
        </p>
      )}
    </div>
  );
}

function ExportButton() {
  const { api } = useAuth();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const exportAll = async () => {
    setBusy(true);
    setError(null);
    try {
      const all: Suppression[] = [];
      for (let p = 1; p <= EXPORT_MAX_PAGES; p++) {
        const res = await api.listSuppressions({ page: p, limit: EXPORT_PAGE });
        all.push(...res.suppressions);
        if (p >= res.pagination.pages || res.suppressions.length === 0) break;
      }
      download("suppressions.csv", suppressionsToCsv(all));
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div>
      <button type="button" className="btn btn-secondary" disabled={busy} onClick={() => void exportAll()} data-testid="suppressions-export">
        {busy ? <Spinner /> : null} Export CSV
      </button>
      {error && <p className="field-error">{error}</p>}
    </div>
  );
}

function download(name: string, text: string) {
  const url = URL.createObjectURL(new Blob(["\ufeff", text], { type: "text/csv;charset=utf-8" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}
