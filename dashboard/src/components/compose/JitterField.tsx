/**
 * Random extra delay (`randomDelayMs`, issue 15): each gap is the delay plus a
 * random 0..N, drawn once by the server when it plans, so times stay exact.
 *
 * data-testid:
 *   compose-jitter        seconds input
 *   error-randomDelayMs   the error line
 */
import { MAX_DELAY_SECONDS } from "./composeForm";
import { Field } from "./Field";
import type { ComposeForm } from "./useComposeForm";

export function JitterField({ form }: { form: ComposeForm }) {
  const { draft, set, errors, register } = form;
  return (
    <Field
      id="compose-jitter"
      label="Random extra delay"
      hint="Up to this many seconds more on each gap, so sends don't look machine-made. 0 for none."
      error={errors.randomDelayMs}
      errorTestId="error-randomDelayMs"
    >
      {(control) => (
        <div className="input-suffix">
          <input
            {...control}
            type="number"
            inputMode="decimal"
            min={0}
            max={MAX_DELAY_SECONDS}
            step="any"
            value={draft.jitterSeconds}
            onChange={(e) => set("jitterSeconds", e.target.value)}
            ref={register("randomDelayMs")}
            data-testid="compose-jitter"
          />
          <span aria-hidden="true">seconds</span>
        </div>
      )}
    </Field>
  );
}
