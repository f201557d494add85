/**
 * Follow-up steps (issue 16): each waits some days or hours after the previous
 * email to that recipient, and stops for anyone who replied, unsubscribed or
 * bounced. A blank subject is sent as "Re: <first subject>", in the same thread.
 *
 * data-testid:
 *   compose-steps            the section (data-count)
 *   compose-step             one follow-up; data-step = 2, 3, …
 *   compose-step-wait        its wait amount
 *   compose-step-unit        its unit select (days | hours)
 *   compose-step-subject     its optional subject
 *   compose-step-body        its body
 *   compose-step-remove      remove it
 *   compose-step-add         "Add follow-up"
 *   error-steps              the error line
 */
import { followUpSubject, MAX_STEPS, newStep, type StepDraft, type WaitUnit } from "../../lib/steps";
import { Field } from "./Field";
import type { ComposeForm } from "./useComposeForm";

export function StepsField({ form }: { form: ComposeForm }) {
  const { draft, set, errors } = form;
  const steps = draft.steps;
  const update = (i: number, patch: Partial<StepDraft>) => set("steps", steps.map((s, j) => (j === i ? { ...s, ...patch } : s)));
  const remove = (i: number) => set("steps", steps.filter((_, j) => j !== i));
  return (
    <div className="steps" data-testid="compose-steps" data-count={steps.length}>
      {steps.length === 0 && (
        <p className="hint">A single email. Add follow-ups that go out days later in the same thread, and stop once someone replies.</p>
      )}
      {steps.map((s, i) => (
        <StepCard key={i} index={i} step={s} firstSubject={draft.subject} onChange={(p) => update(i, p)} onRemove={() => remove(i)} />
      ))}
      {errors.steps?.length ? (
        <p className="field-error" data-testid="error-steps" role="alert">
          {errors.steps.join(" ")}
        </p>
      ) : null}
      {steps.length < MAX_STEPS && (
        <button type="button" className="btn btn-secondary btn-sm" onClick={() => set("steps", [...steps, newStep()])} data-testid="compose-step-add">
          + Add follow-up
        </button>
      )}
    </div>
  );
}

function StepCard({
  index,
  step,
  firstSubject,
  onChange,
  onRemove,
}: {
  index: number;
  step: StepDraft;
  firstSubject: string;
  onChange: (p: Partial<StepDraft>) => void;
  onRemove: () => void;
}) {
  const n = index + 2;
  const id = `compose-step-${n}`;
  return (
    <div className="step-card" data-testid="compose-step" data-step={n}>
      <div className="step-head">
        <strong>Email {n}</strong>
        <button type="button" className="btn btn-ghost btn-sm" onClick={onRemove} aria-label={`Remove follow-up ${index + 1}`} data-testid="compose-step-remove">
          Remove
        </button>
      </div>
      <div className="grid-2">
        <Field id={`${id}-wait`} label={`Wait before email ${n}`} hint="After the previous email to that recipient was sent.">
          {(control) => (
            <div className="input-group">
              <input {...control} type="number" min={0} step="any" value={step.wait} onChange={(e) => onChange({ wait: e.target.value })} data-testid="compose-step-wait" />
              <select aria-label={`Unit of the wait before email ${n}`} value={step.unit} onChange={(e) => onChange({ unit: e.target.value as WaitUnit })} data-testid="compose-step-unit">
                <option value="days">days</option>
                <option value="hours">hours</option>
              </select>
            </div>
          )}
        </Field>
        <Field id={`${id}-subject`} label={`Email ${n} subject`} hint="Optional: blank replies in the same thread.">
          {(control) => (
            <input
              {...control}
              value={step.subject}
              placeholder={followUpSubject(firstSubject || "<first subject>")}
              onChange={(e) => onChange({ subject: e.target.value })}
              data-testid="compose-step-subject"
            />
          )}
        </Field>
      </div>
      <Field id={`${id}-body`} label={`Email ${n} body`}>
        {(control) => (
          <textarea {...control} className="code-input" rows={4} value={step.body} onChange={(e) => onChange({ body: e.target.value })} spellCheck={false} data-testid="compose-step-body" />
        )}
      </Field>
    </div>
  );
}
