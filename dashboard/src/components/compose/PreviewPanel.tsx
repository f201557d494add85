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
 *   preview-spintax     a few renderings of a subject with spintax
 */
import { useId } from "react";
import type { RecipientWithFields } from "../../api/types";
import { renderPreview } from "../../lib/mergeFields";
import { hasSpintax, spin } from "../../lib/spintax";
import { previewDocument } from "./BodyField";
import type { ComposeForm } from "./useComposeForm";

const MAX_OPTIONS = 500;
const SAMPLE_SEEDS = ["a", "b", "c", "d", "e", "f"];

export function PreviewPanel({ form }: { form: ComposeForm }) {
  const selectId = useId();
  const { recipients, draft, merge } = form;
  const index = Math.min(merge.previewIndex, Math.max(0, recipients.length - 1));
  const r = recipients[index];
  const email = r === undefined ? "recipient@example.com" : typeof r === "string" ? r : r.email;
  const vars = { ...(r && typeof r !== "string" ? (r as RecipientWithFields).fields : {}), email };
  // Spintax first, as the server does (an option may hold a field), seeded by the recipient.
  const subject = renderPreview(spin(draft.subject, email), vars, { html: false });
  const body = renderPreview(spin(draft.body, email), vars, { html: true });
  const spun = hasSpintax(draft.subject)
    ? [...new Set(SAMPLE_SEEDS.map((seed) => renderPreview(spin(draft.subject, seed), vars, { html: false }).text))]
    : [];
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
      {spun.length > 1 && (
        <p className="hint" data-testid="preview-spintax">
          Spintax: each recipient gets one option, e.g. {spun.slice(0, 4).map((s) => `“${s}”`).join(", ")}
        </p>
      )}
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
