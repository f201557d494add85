/**
 * Open and click tracking (issue 27): off by default, with a one-line note on what it
 * costs in deliverability.
 *
 * data-testid:
 *   compose-track-opens    checkbox "Track opens"
 *   compose-track-clicks   checkbox "Track clicks"
 *   error-tracking         the error line (e.g. click tracking on a body without a link)
 */
import type { ComposeForm } from "./useComposeForm";

export function TrackingFields({ form }: { form: ComposeForm }) {
  const { draft, set, errors } = form;
  return (
    <fieldset className="tracking-fields">
      <legend>Tracking</legend>
      <label className="checkbox-row">
        <input type="checkbox" checked={draft.trackOpens} onChange={(e) => set("trackOpens", e.target.checked)} data-testid="compose-track-opens" />
        Track opens (a 1×1 image)
      </label>
      <label className="checkbox-row">
        <input type="checkbox" checked={draft.trackClicks} onChange={(e) => set("trackClicks", e.target.checked)} data-testid="compose-track-clicks" />
        Track clicks (links go through a redirect)
      </label>
      <p className="hint">Plain cold email lands better: tracking pixels and redirected links can send it to spam, more so on a shared tracking domain.</p>
      {errors.tracking?.length ? (
        <p className="field-error" data-testid="error-tracking" role="alert">
          {errors.tracking.join(" ")}
        </p>
      ) : null}
    </fieldset>
  );
}
