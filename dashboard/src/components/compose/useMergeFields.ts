import { useMemo, useState } from "react";
import { parseCsvTable, type CsvTable } from "../../lib/csvFields";
import { fieldToken, insertAtCursor } from "../../lib/mergeFields";

/** The two templates a field can go into. */
export type TemplateTarget = "subject" | "body";

interface Options {
  recipientsText: string;
  subject: string;
  body: string;
  /** Writes a template back into the draft. */
  setTemplate: (target: TemplateTarget, value: string) => void;
  /** The subject or body control, to read and restore its cursor. */
  control: (target: TemplateTarget) => HTMLElement | null | undefined;
  /** Shows the body editor (a field cannot go into the preview). */
  showEditor: () => void;
}

/**
 * The merge fields of the uploaded list (issue 14): the columns found, inserting
 * `{{ column }}` at the cursor of the subject or body last focused, and which
 * recipient the preview shows.
 */
export function useMergeFields({ recipientsText, subject, body, setTemplate, control, showEditor }: Options) {
  const table: CsvTable = useMemo(() => parseCsvTable(recipientsText), [recipientsText]);
  const [target, setTarget] = useState<TemplateTarget>("body");
  const [previewIndex, setPreviewIndex] = useState(0);

  /** The subject or body got the focus: fields go there next. */
  const noteFocus = (t: TemplateTarget) => {
    if (t !== target) setTarget(t);
  };

  const insertField = (key: string, into: TemplateTarget = target) => {
    const target = into;
    const el = control(target) as HTMLInputElement | HTMLTextAreaElement | null | undefined;
    const value = target === "subject" ? subject : body;
    const hasCursor = el && typeof el.selectionStart === "number";
    const { value: next, cursor } = insertAtCursor(
      value,
      hasCursor ? el.selectionStart : null,
      hasCursor ? el.selectionEnd : null,
      fieldToken(key),
    );
    setTemplate(target, next);
    if (target === "body") showEditor();
    // After the render with the new value: back to the control, cursor after the field.
    window.setTimeout(() => {
      const c = control(target) as HTMLInputElement | HTMLTextAreaElement | null | undefined;
      c?.focus();
      c?.setSelectionRange?.(cursor, cursor);
    }, 0);
  };

  return { table, noteFocus, insertField, previewIndex, setPreviewIndex, target, setTarget };
}

export type MergeFields = ReturnType<typeof useMergeFields>;
