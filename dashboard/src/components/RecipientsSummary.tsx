import { useState } from "react";
import type { ParsedRecipients } from "../lib/recipients";

const SHOW = 20;

/** Counts of valid / duplicate / invalid recipients, with the invalid lines listed. */
export function RecipientsSummary({ parsed, hasInput }: { parsed: ParsedRecipients; hasInput: boolean }) {
  const [showDupes, setShowDupes] = useState(false);
  const [showAllInvalid, setShowAllInvalid] = useState(false);
  const valid = parsed.valid.length;
  const dupes = parsed.duplicates.length;
  const invalid = parsed.invalid.length;
  if (!hasInput) {
    return (
      <p className="hint" data-testid="recipients-summary" data-valid={0} data-duplicates={0} data-invalid={0}>
        Paste addresses (one per line, or separated by commas) or upload a CSV with an <code>email</code> column.
      </p>
    );
  }
  const invalidShown = showAllInvalid ? parsed.invalid : parsed.invalid.slice(0, SHOW);
  return (
    <div
      className="recipients-summary"
      data-testid="recipients-summary"
      data-valid={valid}
      data-duplicates={dupes}
      data-invalid={invalid}
      aria-live="polite"
    >
      <div className="summary-pills">
        <span className={`pill ${valid > 0 ? "pill-success" : "pill-muted"}`}>
          <strong data-testid="recipients-valid-count">{valid.toLocaleString()}</strong> valid{" "}
          {valid === 1 ? "recipient" : "recipients"}
        </span>
        <span className={`pill ${dupes > 0 ? "pill-warning" : "pill-muted"}`}>
          <strong data-testid="recipients-duplicate-count">{dupes.toLocaleString()}</strong>{" "}
          {dupes === 1 ? "duplicate" : "duplicates"} removed
        </span>
        <span className={`pill ${invalid > 0 ? "pill-danger" : "pill-muted"}`}>
          <strong data-testid="recipients-invalid-count">{invalid.toLocaleString()}</strong> invalid
        </span>
        {parsed.header && (
          <span className="pill pill-muted" title={parsed.header.join(", ")}>
            Header row skipped
            {parsed.emailColumn !== null ? ` · column “${parsed.header[parsed.emailColumn]}”` : ""}
          </span>
        )}
      </div>
      {invalid > 0 && (
        <div className="invalid-list" data-testid="recipients-invalid-list">
          <p className="invalid-title">
            {invalid === 1 ? "This line is" : "These lines are"} not valid and will be skipped:
          </p>
          <ul>
            {invalidShown.map((i, n) => (
              <li key={`${i.line}-${n}`} data-testid="recipients-invalid-line">
                <span className="line-no">Line {i.line}</span> <code>{i.text || "(empty)"}</code>{" "}
                <span className="hint">{i.reason}</span>
              </li>
            ))}
          </ul>
          {invalid > SHOW && (
            <button type="button" className="btn btn-ghost btn-sm" onClick={() => setShowAllInvalid((s) => !s)}>
              {showAllInvalid ? "Show fewer" : `Show all ${invalid.toLocaleString()}`}
            </button>
          )}
        </div>
      )}
      {dupes > 0 && (
        <div className="dupe-list">
          <button
            type="button"
            className="btn btn-ghost btn-sm"
            aria-expanded={showDupes}
            onClick={() => setShowDupes((s) => !s)}
          >
            {showDupes ? "Hide duplicates" : "Show duplicates"}
          </button>
          {showDupes && (
            <ul>
              {parsed.duplicates.slice(0, 200).map((d, n) => (
                <li key={`${d.line}-${n}`}>
                  <span className="line-no">Line {d.line}</span> <code>{d.email}</code>{" "}
                  <span className="hint">same as line {d.firstLine}</span>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
