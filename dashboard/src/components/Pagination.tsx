import type { Pagination as P } from "../api/types";

export function Pagination({
  pagination,
  onPage,
  onLimit,
  label,
}: {
  pagination: P;
  onPage: (page: number) => void;
  onLimit?: (limit: number) => void;
  label: string;
}) {
  const { page, limit, total } = pagination;
  const pages = Math.max(1, pagination.pages || Math.ceil(total / Math.max(1, limit)));
  const from = total === 0 ? 0 : (page - 1) * limit + 1;
  const to = Math.min(total, page * limit);
  return (
    <nav className="pagination" aria-label={`${label} pages`} data-testid="pagination">
      <span className="muted" aria-live="polite">
        {total === 0 ? "No results" : `${from.toLocaleString()}–${to.toLocaleString()} of ${total.toLocaleString()}`}
      </span>
      <div className="pagination-controls">
        {onLimit && (
          <label className="inline-label">
            <span>Rows</span>
            <select value={limit} onChange={(e) => onLimit(Number(e.target.value))} aria-label="Rows per page">
              {[10, 20, 50, 100].map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
        )}
        <button type="button" className="btn btn-secondary btn-sm" onClick={() => onPage(page - 1)} disabled={page <= 1}>
          ‹ Previous
        </button>
        <span className="page-indicator">
          Page {page} of {pages}
        </span>
        <button
          type="button"
          className="btn btn-secondary btn-sm"
          onClick={() => onPage(page + 1)}
          disabled={page >= pages}
        >
          Next ›
        </button>
      </div>
    </nav>
  );
}
