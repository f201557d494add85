import { useRef, useState, type ChangeEvent, type DragEvent } from "react";
import type { RecipientError } from "../../lib/fieldErrors";
import { RECIPIENT_FILE_ACCEPT } from "../../lib/recipients";
import { UploadIcon } from "../Icons";
import { RecipientsSummary } from "../RecipientsSummary";
import { Field } from "./Field";
import type { ComposeForm } from "./useComposeForm";

const MAX_FILE_BYTES = 20 * 1024 * 1024;
/** The API's per-recipient errors listed at most. */
const SHOW_REJECTED = 50;

/** Pasted or uploaded (CSV, text) recipients, dropped anywhere on the section. */
export function RecipientsField({ form }: { form: ComposeForm }) {
  const { draft, errors, recipientErrors, parsed, hasRecipientsInput } = form;
  const [dragging, setDragging] = useState(false);
  const [fileError, setFileError] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const invalid = !!errors.recipients?.length || recipientErrors.length > 0;

  const readFile = async (file: File) => {
    setFileError(null);
    if (file.size > MAX_FILE_BYTES) return setFileError(`${file.name} is too large (over 20 MB).`);
    try {
      const text = await file.text();
      if (text.includes("\u0000")) return setFileError(`${file.name} doesn't look like a text or CSV file.`);
      form.loadRecipients(text, file.name);
    } catch {
      setFileError(`Couldn't read ${file.name}.`);
    }
  };
  const onFile = (e: ChangeEvent<HTMLInputElement>) => {
    const f = e.target.files?.[0];
    if (f) void readFile(f);
    e.target.value = "";
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const f = e.dataTransfer.files?.[0];
    if (f) void readFile(f);
  };

  const actions = (
    <div className="row-actions">
      <input
        ref={fileInput}
        id="compose-recipients-file"
        type="file"
        accept={RECIPIENT_FILE_ACCEPT}
        onChange={onFile}
        className="visually-hidden"
        data-testid="recipients-file"
        aria-label="Upload a CSV or text file"
      />
      <button type="button" className="btn btn-secondary btn-sm" onClick={() => fileInput.current?.click()}>
        <UploadIcon /> Upload CSV or text file
      </button>
      {hasRecipientsInput && (
        <button type="button" className="btn btn-ghost btn-sm" onClick={() => form.loadRecipients("", null)}>
          Clear
        </button>
      )}
    </div>
  );
  const footer = (
    <>
      {recipientErrors.length > 0 && <RejectedRecipients errors={recipientErrors} />}
      <div id="compose-recipients-summary">
        <RecipientsSummary parsed={parsed} hasInput={hasRecipientsInput} />
      </div>
    </>
  );

  return (
    <div
      className={`dropzone${dragging ? " dragging" : ""}${invalid ? " invalid" : ""}`}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      <Field
        id="compose-recipients"
        label="Recipients"
        actions={actions}
        error={errors.recipients}
        errorTestId="error-recipients"
        invalid={invalid}
        describedBy={["compose-recipients-summary", recipientErrors.length ? "compose-recipients-api-errors" : null]}
        footer={footer}
      >
        {(control) => (
          <>
            <textarea
              {...control}
              rows={6}
              className="code-input"
              value={draft.recipientsText}
              onChange={(e) => {
                form.set("recipientsText", e.target.value);
                if (draft.fileName) form.set("fileName", null);
              }}
              ref={form.register("recipients")}
              placeholder={"ada@example.com\ngrace@example.com, alan@example.com\nor drop a .csv file here"}
              spellCheck={false}
              data-testid="compose-recipients"
            />
            {draft.fileName && (
              <p className="hint" data-testid="recipients-file-name">
                Loaded from <strong>{draft.fileName}</strong>
              </p>
            )}
            {fileError && (
              <p className="field-error" role="alert">
                {fileError}
              </p>
            )}
          </>
        )}
      </Field>
    </div>
  );
}

/** Recipients the API refused, each with its reason. */
function RejectedRecipients({ errors }: { errors: RecipientError[] }) {
  return (
    <div className="field-error" id="compose-recipients-api-errors" data-testid="error-recipients-list">
      <p>The server rejected {errors.length === 1 ? "this recipient" : `${errors.length} recipients`}:</p>
      <ul>
        {errors.slice(0, SHOW_REJECTED).map((r) => (
          <li key={r.index} data-testid="error-recipient">
            <code>{r.value ?? `#${r.index + 1}`}</code> — {r.message}
          </li>
        ))}
      </ul>
      {errors.length > SHOW_REJECTED && <p>…and {errors.length - SHOW_REJECTED} more.</p>}
    </div>
  );
}
