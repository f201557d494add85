import { Field } from "./Field";
import { MergeFieldsBar } from "./MergeFieldsBar";
import { PreviewPanel } from "./PreviewPanel";
import type { BodyView, ComposeForm } from "./useComposeForm";

const VIEWS: { view: BodyView; label: string }[] = [
  { view: "write", label: "Write" },
  { view: "preview", label: "Preview" },
];

/** The HTML body, written or previewed in a sandboxed frame. */
export function BodyField({ form }: { form: ComposeForm }) {
  const { draft, errors, bodyView, setBodyView } = form;
  const tabs = (
    <div className="segmented" role="tablist" aria-label="Body view">
      {VIEWS.map(({ view, label }) => (
        <button
          key={view}
          type="button"
          role="tab"
          aria-selected={bodyView === view}
          aria-controls="compose-body-panel"
          className={bodyView === view ? "active" : ""}
          onClick={() => setBodyView(view)}
          data-testid={`body-${view}-tab`}
        >
          {label}
        </button>
      ))}
    </div>
  );
  const label = (
    <>
      Body <span className="optional">(HTML)</span>
    </>
  );
  return (
    <Field id="compose-body" label={label} actions={tabs} error={errors.body} errorTestId="error-body" footer={<MergeFieldsBar form={form} />}>
      {(control) => (
        <div id="compose-body-panel" role="tabpanel" aria-label="Message editor">
          {bodyView === "write" ? (
            <textarea
              {...control}
              className="code-input"
              rows={9}
              value={draft.body}
              onChange={(e) => form.set("body", e.target.value)}
              onFocus={() => form.merge.noteFocus("body")}
              ref={form.register("body")}
              placeholder={"<h1>Hello {{ first_name | default(\"there\") }}!</h1>\n<p>Our spring sale starts today…</p>"}
              spellCheck={false}
              data-testid="compose-body"
            />
          ) : (
            <PreviewPanel form={form} />
          )}
        </div>
      )}
    </Field>
  );
}

/** Wraps the body for the sandboxed preview frame (no scripts run there). */
export function previewDocument(body: string): string {
  const content = body.trim()
    ? body
    : '<p style="color:#6b7280;font-family:system-ui,sans-serif">Nothing to preview yet. Write some HTML first.</p>';
  return `<!doctype html><html><head><meta charset="utf-8"><base target="_blank"><style>body{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#111827;line-height:1.5;margin:16px;word-wrap:break-word}img{max-width:100%}</style></head><body>${content}</body></html>`;
}
