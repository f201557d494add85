import { Field } from "./Field";
import type { ComposeForm } from "./useComposeForm";

export function SubjectField({ form }: { form: ComposeForm }) {
  return (
    <Field id="compose-subject" label="Subject" error={form.errors.subject} errorTestId="error-subject">
      {(control) => (
        <input
          {...control}
          value={form.draft.subject}
          onChange={(e) => form.set("subject", e.target.value)}
          onFocus={() => form.merge.noteFocus("subject")}
          ref={form.register("subject")}
          data-testid="compose-subject"
          data-autofocus
          maxLength={998}
        />
      )}
    </Field>
  );
}
