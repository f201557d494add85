/**
 * The columns found in the uploaded list, each a button that inserts
 * `{{ column }}` at the cursor of the subject or body last focused (issue 14).
 *
 * data-testid:
 *   merge-fields          the bar (data-count = number of columns)
 *   merge-field           one column's insert button; data-field = its template name
 *   merge-field-target    "Insert into: Subject | Body" toggle buttons (data-target)
 */
import type { ComposeForm } from "./useComposeForm";

const BUILT_IN = [{ header: "Email address", key: "email" }];

export function MergeFieldsBar({ form }: { form: ComposeForm }) {
  const { table, insertField, target, setTarget } = form.merge;
  const columns = [...table.columns, ...BUILT_IN];
  return (
    <div className="merge-fields" data-testid="merge-fields" data-count={table.columns.length}>
      <div className="merge-fields-head">
        <span className="hint">
          {table.columns.length > 0
            ? `${table.columns.length} ${table.columns.length === 1 ? "column" : "columns"} found in your list (address: ${table.emailHeader}). Insert a field into`
            : "Upload a CSV with a header row to use its columns. Insert a field into"}
        </span>
        <div className="segmented segmented-sm" role="group" aria-label="Insert fields into">
          {(["subject", "body"] as const).map((t) => (
            <button
              key={t}
              type="button"
              className={target === t ? "active" : ""}
              aria-pressed={target === t}
              onClick={() => setTarget(t)}
              data-testid="merge-field-target"
              data-target={t}
            >
              {t === "subject" ? "Subject" : "Body"}
            </button>
          ))}
        </div>
      </div>
      <div className="chips" role="group" aria-label="Merge fields">
        {columns.map((c) => (
          <button
            key={c.key}
            type="button"
            className="chip chip-code"
            title={`Insert {{ ${c.key} }} (${c.header})`}
            // Keep the cursor where it is in the subject or body.
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => insertField(c.key, target)}
            data-testid="merge-field"
            data-field={c.key}
          >
            {`{{ ${c.key} }}`}
          </button>
        ))}
      </div>
    </div>
  );
}
