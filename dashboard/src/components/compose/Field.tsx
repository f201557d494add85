import type { ReactNode } from "react";

/** What a field's control needs to point at its label, hint and error. */
export interface ControlProps {
  id: string;
  "aria-invalid": true | undefined;
  "aria-describedby": string | undefined;
}

export interface FieldProps {
  /** The control's id; the hint and error get `${id}-hint` and `${id}-error`. */
  id: string;
  label: ReactNode;
  hint?: ReactNode;
  /** Messages for this field; none means valid. */
  error?: string[];
  /** `data-testid` of the error line. */
  errorTestId?: string;
  /** Buttons beside the label (tabs, upload). */
  actions?: ReactNode;
  /** Marks the control invalid for a reason shown elsewhere (the API's per-recipient list). */
  invalid?: boolean;
  /** More ids that describe the control. */
  describedBy?: (string | null | undefined)[];
  /** Shown after the error (quick picks, summaries). */
  footer?: ReactNode;
  children: (control: ControlProps) => ReactNode;
}

/** One form field: label, control, hint and error, wired up for screen readers. */
export function Field({ id, label, hint, error, errorTestId, actions, invalid, describedBy = [], footer, children }: FieldProps) {
  const hasError = !!error?.length;
  const hintId = hint ? `${id}-hint` : null;
  const errorId = hasError ? `${id}-error` : null;
  const ids = [errorId, hintId, ...describedBy].filter(Boolean).join(" ");
  const labelEl = <label htmlFor={id}>{label}</label>;
  return (
    <div className="field">
      {actions ? (
        <div className="field-label-row">
          {labelEl}
          {actions}
        </div>
      ) : (
        labelEl
      )}
      {children({ id, "aria-invalid": hasError || invalid ? true : undefined, "aria-describedby": ids || undefined })}
      {hint && (
        <p className="hint" id={hintId!}>
          {hint}
        </p>
      )}
      {hasError && (
        <p className="field-error" id={errorId!} data-testid={errorTestId}>
          {error!.join(" ")}
        </p>
      )}
      {footer}
    </div>
  );
}
