import { Field } from "./Field";
import type { ComposeForm } from "./useComposeForm";

/** Who the campaign comes from. */
export function SenderFields({ form }: { form: ComposeForm }) {
  const { draft, errors, set, register } = form;
  return (
    <>
      <div className="grid-2">
        <Field id="compose-sender-email" label="Sender email" error={errors.senderEmail} errorTestId="error-senderEmail">
          {(control) => (
            <input
              {...control}
              type="email"
              autoComplete="email"
              value={draft.senderEmail}
              onChange={(e) => set("senderEmail", e.target.value)}
              ref={register("senderEmail")}
              data-testid="compose-sender-email"
            />
          )}
        </Field>
        <Field id="compose-sender-name" label="Sender name" error={errors.senderName} errorTestId="error-senderName">
          {(control) => (
            <input
              {...control}
              autoComplete="name"
              value={draft.senderName}
              onChange={(e) => set("senderName", e.target.value)}
              ref={register("senderName")}
              data-testid="compose-sender-name"
            />
          )}
        </Field>
      </div>
      <p className="hint">Remembered for your next campaign.</p>
    </>
  );
}
