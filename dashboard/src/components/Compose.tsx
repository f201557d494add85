import type { ScheduleRequest, ScheduleResponse, SenderAccount, SkippedRows } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import type { PlanOptions } from "../lib/schedule";
import { BodyField } from "./compose/BodyField";
import { RecipientsField } from "./compose/RecipientsField";
import { SenderPicker } from "./compose/SenderPicker";
import { StepsField } from "./compose/StepsField";
import { SubjectField } from "./compose/SubjectField";
import { TimingFields } from "./compose/TimingFields";
import { useComposeForm, type ComposeForm } from "./compose/useComposeForm";
import type { ComposeDraft } from "./composeDraft";
import { Dialog } from "./Dialog";
import { Spinner } from "./Skeleton";

/** The "New campaign" drawer: the form lives in useComposeForm, each section in compose/. */
export function ComposeDrawer({
  draft,
  setDraft,
  planOptions,
  onClose,
  onScheduled,
  senders = null,
}: {
  senders?: SenderAccount[] | null;
  draft: ComposeDraft;
  setDraft: (updater: (d: ComposeDraft) => ComposeDraft) => void;
  planOptions: PlanOptions;
  onClose: () => void;
  onScheduled: (res: ScheduleResponse, req: ScheduleRequest, skipped?: SkippedRows) => void;
}) {
  const { api } = useAuth();
  const form = useComposeForm({
    draft,
    setDraft,
    planOptions,
    schedule: (req) => api.schedule(req),
    onScheduled,
    senders,
    importer: {
      createImport: (size) => api.createImport(size),
      scheduleImport: (req) => api.scheduleImport(req),
      getImport: (id) => api.getImport(id),
      getBatch: (id) => api.getBatch(id),
    },
  });
  return (
    <Dialog
      variant="drawer"
      size="lg"
      title="New campaign"
      description="Write your email, add recipients and choose how fast it goes out."
      onClose={onClose}
      testId="compose-dialog"
      footer={<ComposeFooter form={form} onClose={onClose} />}
    >
      <form id="compose-form" className="form compose-form" onSubmit={form.submit} noValidate>
        {form.general.length > 0 && (
          <div className="callout callout-error" role="alert" data-testid="compose-error">
            {form.general.map((g, i) => (
              <p key={i}>{g}</p>
            ))}
          </div>
        )}
        <fieldset className="form-section">
          <legend>Sender</legend>
          <SenderPicker form={form} />
        </fieldset>
        <fieldset className="form-section">
          <legend>Message</legend>
          <SubjectField form={form} />
          <BodyField form={form} />
        </fieldset>
        <fieldset className="form-section">
          <legend>Follow-ups</legend>
          <StepsField form={form} />
        </fieldset>
        <fieldset className="form-section">
          <legend>Recipients</legend>
          <RecipientsField form={form} />
        </fieldset>
        <fieldset className="form-section">
          <legend>Timing</legend>
          <TimingFields form={form} planOptions={planOptions} />
        </fieldset>
      </form>
    </Dialog>
  );
}

/** Recipient count, Close and the submit button (outside the form, bound by `form=`). */
function ComposeFooter({ form, onClose }: { form: ComposeForm; onClose: () => void }) {
  const count = form.parsed.valid.length;
  const invalid = form.parsed.invalid.length;
  const label = form.submitting
    ? "Scheduling…"
    : count > 0
      ? `Schedule ${count.toLocaleString()} ${count === 1 ? "email" : "emails"}`
      : "Schedule";
  return (
    <>
      <div className="footer-summary" aria-live="polite">
        {count > 0 ? (
          <span>
            <strong>{count.toLocaleString()}</strong> {count === 1 ? "recipient" : "recipients"}
            {invalid > 0 && <span className="hint"> · {invalid} invalid skipped</span>}
          </span>
        ) : (
          <span className="hint">No recipients yet</span>
        )}
      </div>
      <button type="button" className="btn btn-secondary" onClick={onClose}>
        Close
      </button>
      <button type="submit" form="compose-form" className="btn btn-primary" disabled={form.submitting} data-testid="schedule-submit">
        {form.submitting ? <Spinner /> : null}
        {label}
      </button>
    </>
  );
}
