import type { Batch } from "../api/types";
import { formatDateTime } from "../lib/time";

export function batchLabel(b: Batch): string {
  return `${b.subject || "(no subject)"} · ${formatDateTime(b.createdAt)}`;
}

export function BatchFilter({
  batches,
  value,
  onChange,
  id,
}: {
  batches: Batch[];
  value: string;
  onChange: (batchId: string) => void;
  id: string;
}) {
  const known = batches.some((b) => b.id === value);
  return (
    <div className="inline-field">
      <label htmlFor={id}>Batch</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)} data-testid="batch-filter">
        <option value="">All batches</option>
        {value && !known && <option value={value}>Batch {value.slice(0, 8)}…</option>}
        {batches.map((b) => (
          <option key={b.id} value={b.id}>
            {batchLabel(b)}
          </option>
        ))}
      </select>
      {value && (
        <button type="button" className="btn btn-ghost btn-sm" onClick={() => onChange("")} data-testid="batch-filter-clear">
          Clear filter
        </button>
      )}
    </div>
  );
}
