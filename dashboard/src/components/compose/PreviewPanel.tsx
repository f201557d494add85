/**
 * The body's Preview tab: the email as one recipient of the list would get it,
 * rendered in the browser for simple `{{ field }}` / `default("…")` tags only
 * (values HTML-escaped). The server renders the real email.
 *
 * data-testid:
 *   preview-recipient   the recipient picker (select; value = index in the list)
 *   preview-subject     the rendered subject
 *   preview-missing     fields this recipient lacks (the server would refuse them)
 *   body-preview        the sandboxed frame (unchanged)
 */
import { useId } from "react";
import type { RecipientWithFields } from "../../api/types";
import { renderPreview } from "../../lib/mergeFields";
import { previewDocument } from "./BodyField";
import type { ComposeForm } from "./useComposeForm";

const MAX_OPTIONS = 500;

export function PreviewPanel({ form }: { form: ComposeForm }) {
  const selectId = useId();
  const { recipients, draft, merge } = form;
  const index = Math.min(merge.previewIndex, Math.max(0, recipients.length - 1));
  const r = recipients[index];
  const email = r === undefined ? "recipient@example.com" : typeof r === "string" ? r : r.email;
  const vars = { ...(r && typeof r !== "string" ? (r as RecipientWithFields).fields : {}), email };
  const subject = renderPreview(draft.subject, vars, { html: false });
  const body = renderPreview(draft.body, vars, { html: true });
  const missing = [...new Set([...subject.missing, ...body.missing])];
  return (
    <div className="preview-panel">
      <div className="preview-head">
        <label htmlFor={selectId}>Preview for</label>
        <select
          id={selectId}
          value={index}
          onChange={(e) => merge.setPreviewIndex(Number(e.target.value))}
          disabled={recipients.length === 0}
          data-testid="preview-recipient"
        >
          {recipients.length === 0 && <option value={0}>recipient@example.com (add recipients)</option>}
          {recipients.slice(0, MAX_OPTIONS).map((x, i) => (
            <option key={i} value={i}>
              {typeof x === "string" ? x : x.email}
            </option>
          ))}
        </select>
      </div>
      <p className="preview-subject">
        <span className="hint">Subject: </span>
        <strong data-testid="preview-subject">{subject.text || "(no subject)"}</strong>
      </p>
      {missing.length > 0 && (
        <p className="field-error" data-testid="preview-missing">
          {email} has no {missing.map((m) => `“${m}”`).join(", ")}: add a default, e.g. {`{{ ${missing[0]} | default("there") }}`}, or the
          server refuses the campaign.
        </p>
      )}
      <iframe className="body-preview" title="Email body preview" sandbox="" srcDoc={previewDocument(body.text)} data-testid="body-preview" />
      <p className="hint">
        A preview of simple fields only; the server renders the real email (and adds the unsubscribe link and footer).
      </p>
    </div>
  );
}
