import { useRef, useState, type ChangeEvent, type DragEvent } from "react";
import type { RecipientError } from "../../lib/fieldErrors";
import { countDataRows, importProgress, MAX_IMPORT_BYTES, shouldImport } from "../../lib/imports";
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
    if (form.canImport && shouldImport(file.size)) {
      if (file.size > MAX_IMPORT_BYTES) return setFileError(`${file.name} is too large (over 256 MB).`);
      return void form.attachImportFile(file);
    }
    if (file.size > MAX_FILE_BYTES) return setFileError(`${file.name} is too large (over 20 MB).`);
    try {
      const text = await file.text();
      if (text.includes("\u0000")) return setFileError(`${file.name} doesn't look like a text or CSV file.`);
      if (form.canImport && shouldImport(file.size, countDataRows(text))) return void form.attachImportFile(file);
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
      {(hasRecipientsInput || form.importFile) && (
        <button type="button" className="btn btn-ghost btn-sm" onClick={() => form.loadRecipients("", null)}>
          Clear
        </button>
      )}
    </div>
  );
  const footer = (
    <>
      <ImportPanel form={form} />
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

/** A large file's upload and import: two progress bars, and the errors by line on failure. */
function ImportPanel({ form }: { form: ComposeForm }) {
  const { importFile, uploadPercent, importStatus, importErrors } = form;
  if (!importFile && !importStatus && importErrors.length === 0) return null;
  const progress = importStatus ? importProgress(importStatus, importFile?.estimatedRows ?? null) : null;
  return (
    <div className="import-panel" data-testid="import-panel">
      {importFile && (
        <p className="hint" data-testid="import-file">
          <strong>{importFile.file.name}</strong> ({(importFile.file.size / 1e6).toFixed(1)} MB, about{" "}
          {importFile.estimatedRows.toLocaleString("en-US")} rows) is uploaded and imported when you schedule.
        </p>
      )}
      {uploadPercent !== null && (
        <label className="progress-row">
          Upload {uploadPercent}%
          <progress max={100} value={uploadPercent} data-testid="upload-progress" aria-label="Upload progress" />
        </label>
      )}
      {progress && (
        <label className="progress-row">
          {progress.label}
          <progress max={100} value={progress.percent} data-testid="import-progress" aria-label="Import progress" />
        </label>
      )}
      {importErrors.length > 0 && (
        <div className="field-error" role="alert" data-testid="import-errors">
          <p>The import failed:</p>
          <ul>
            {importErrors.map((line, i) => (
              <li key={i}>{line}</li>
            ))}
          </ul>
        </div>
      )}
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
