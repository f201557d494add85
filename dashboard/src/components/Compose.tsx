import { useDeferredValue, useMemo, useRef, useState, type ChangeEvent, type DragEvent, type FormEvent } from "react";
import { ApiError, describeError } from "../api/client";
import type { ScheduleRequest, ScheduleResponse } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { useNow } from "../hooks/useNow";
import { isValidEmail } from "../lib/email";
import { mapErrorDetails, type ComposeField, type RecipientError } from "../lib/fieldErrors";
import { parseRecipients, RECIPIENT_FILE_ACCEPT } from "../lib/recipients";
import { summarizePlan, type PlanOptions } from "../lib/schedule";
import { localTimeZone, parseDateTimeLocal, toDateTimeLocalValue, toIsoWithOffset } from "../lib/time";
import { clearMessage, rememberComposeDefaults, type ComposeDraft } from "./composeDraft";
import { Dialog } from "./Dialog";
import { FinishEstimate } from "./FinishEstimate";
import { UploadIcon } from "./Icons";
import { RecipientsSummary } from "./RecipientsSummary";
import { Spinner } from "./Skeleton";

const MAX_FILE_BYTES = 20 * 1024 * 1024;
/** A start time up to this far in the past means "now". */
const PAST_GRACE_MS = 5 * 60_000;
/** The API's largest delay between two emails (24 hours). */
const MAX_DELAY_SECONDS = 24 * 3600;

type Errors = Partial<Record<ComposeField, string[]>>;

export function ComposeDrawer({
  draft,
  setDraft,
  planOptions,
  onClose,
  onScheduled,
}: {
  draft: ComposeDraft;
  setDraft: (updater: (d: ComposeDraft) => ComposeDraft) => void;
  planOptions: PlanOptions;
  onClose: () => void;
  onScheduled: (res: ScheduleResponse, req: ScheduleRequest) => void;
}) {
  const { api } = useAuth();
  const now = useNow(15_000);
  const [errors, setErrors] = useState<Errors>({});
  const [recipientErrors, setRecipientErrors] = useState<RecipientError[]>([]);
  const [general, setGeneral] = useState<string[]>([]);
  const [submitting, setSubmitting] = useState(false);
  const [bodyTab, setBodyTab] = useState<"write" | "preview">("write");
  const [dragging, setDragging] = useState(false);
  const [fileError, setFileError] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const refs = useRef<Partial<Record<ComposeField, HTMLElement | null>>>({});
  const tz = useMemo(localTimeZone, []);

  const recipientsText = useDeferredValue(draft.recipientsText);
  const parsed = useMemo(() => parseRecipients(recipientsText), [recipientsText]);
  const hasRecipientsInput = draft.recipientsText.trim() !== "";

  const set = <K extends keyof ComposeDraft>(key: K, value: ComposeDraft[K]) => {
    setDraft((d) => ({ ...d, [key]: value }));
    const field = FIELD_OF[key];
    if (field && errors[field]) setErrors((e) => ({ ...e, [field]: undefined }));
    if (key === "recipientsText" && recipientErrors.length) setRecipientErrors([]);
  };

  // ---- timing & estimate ----
  const start = parseDateTimeLocal(draft.startLocal);
  const delayNum = Number(draft.delaySeconds);
  const limitNum = Number(draft.hourlyLimit);
  const delayOk =
    draft.delaySeconds.trim() !== "" && Number.isFinite(delayNum) && delayNum >= 0 && delayNum <= MAX_DELAY_SECONDS;
  const limitOk = Number.isInteger(limitNum) && limitNum >= 1;
  const effectiveStartMs = start ? effectiveStart(start.getTime(), now) : null;
  const startInPast = start !== null && start.getTime() < now - 60_000;
  // The API refuses start times more than an hour ago (a slow clock is fine, 1970 is not).
  const startTooOld = start !== null && start.getTime() < now - 3_600_000;

  const planProblem = !start
    ? "Pick a start time."
    : !delayOk
      ? `Enter a delay from 0 to ${MAX_DELAY_SECONDS.toLocaleString()} seconds.`
      : !limitOk
        ? "Enter an hourly limit of at least 1."
        : null;
  const plan = useMemo(() => {
    if (planProblem || effectiveStartMs === null || parsed.valid.length === 0) return null;
    return summarizePlan({
      count: parsed.valid.length,
      startMs: effectiveStartMs,
      delayMs: Math.round(delayNum * 1000),
      hourlyLimit: limitNum,
      ...planOptions,
    });
  }, [planProblem, effectiveStartMs, parsed.valid.length, delayNum, limitNum, planOptions]);

  // ---- files ----
  const readFile = async (file: File) => {
    setFileError(null);
    if (file.size > MAX_FILE_BYTES) {
      setFileError(`${file.name} is too large (over 20 MB).`);
      return;
    }
    try {
      const text = await file.text();
      if (text.includes("\u0000")) {
        setFileError(`${file.name} doesn't look like a text or CSV file.`);
        return;
      }
      setDraft((d) => ({ ...d, recipientsText: text, fileName: file.name }));
      setErrors((e) => ({ ...e, recipients: undefined }));
      setRecipientErrors([]);
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

  // ---- submit ----
  const validate = (): Errors => {
    const e: Errors = {};
    if (!isValidEmail(draft.senderEmail.trim())) e.senderEmail = ["Enter the sender's email address"];
    if (!draft.subject.trim()) e.subject = ["Add a subject"];
    if (!draft.body.trim()) e.body = ["Write the email body"];
    if (parsed.valid.length === 0)
      e.recipients = [hasRecipientsInput ? "None of these lines is a valid email address" : "Add at least one recipient"];
    if (!start) e.startTime = ["Pick a valid start time"];
    if (!delayOk)
      e.delayMs = [
        delayNum > MAX_DELAY_SECONDS
          ? `Enter at most ${MAX_DELAY_SECONDS.toLocaleString()} seconds (24 hours)`
          : "Enter 0 seconds or more",
      ];
    if (!limitOk) e.hourlyLimit = ["Enter a whole number of at least 1"];
    return e;
  };

  const focusFirst = (e: Errors) => {
    const order: ComposeField[] = ["senderEmail", "senderName", "subject", "body", "recipients", "startTime", "delayMs", "hourlyLimit"];
    const first = order.find((f) => e[f]?.length);
    if (first) {
      if (first === "body") setBodyTab("write");
      window.setTimeout(() => refs.current[first]?.focus(), 0);
    }
  };

  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    if (submitting) return;
    setGeneral([]);
    setRecipientErrors([]);
    const v = validate();
    setErrors(v);
    if (Object.keys(v).length > 0) {
      focusFirst(v);
      return;
    }
    const startDate = new Date(effectiveStart(start!.getTime(), Date.now()));
    const req: ScheduleRequest = {
      subject: draft.subject.trim(),
      body: draft.body,
      recipients: parsed.valid,
      startTime: toIsoWithOffset(startDate),
      delayMs: Math.round(delayNum * 1000),
      hourlyLimit: limitNum,
      sender: { email: draft.senderEmail.trim(), name: draft.senderName.trim() },
    };
    setSubmitting(true);
    try {
      const res = await api.schedule(req);
      rememberComposeDefaults(draft);
      setDraft(clearMessage);
      onScheduled(res, req);
    } catch (err) {
      if (err instanceof ApiError && err.details.length > 0) {
        const mapped = mapErrorDetails(err.details, req.recipients);
        setErrors(mapped.fields);
        setRecipientErrors(mapped.recipients);
        const anyField = Object.keys(mapped.fields).length > 0 || mapped.recipients.length > 0;
        setGeneral([err.message || (anyField ? "Please fix the highlighted fields." : "The request was rejected."), ...mapped.general]);
        focusFirst(mapped.recipients.length ? { ...mapped.fields, recipients: ["x"] } : mapped.fields);
      } else {
        setGeneral([describeError(err)]);
      }
    } finally {
      setSubmitting(false);
    }
  };

  const fieldError = (f: ComposeField) =>
    errors[f]?.length ? (
      <p className="field-error" id={`compose-${f}-error`} data-testid={`error-${f}`}>
        {errors[f]!.join(" ")}
      </p>
    ) : null;
  const describedBy = (f: ComposeField, hint?: string) =>
    [errors[f]?.length ? `compose-${f}-error` : null, hint ?? null].filter(Boolean).join(" ") || undefined;
  const invalidAttr = (f: ComposeField) => (errors[f]?.length ? true : undefined);
  const recipientsInvalid = !!errors.recipients?.length || recipientErrors.length > 0;

  const count = parsed.valid.length;
  const minGapSeconds = (planOptions.minGapMs ?? 1000) / 1000;
  const quickStart = (mins: number | "tomorrow") => {
    const d = new Date();
    if (mins === "tomorrow") {
      d.setDate(d.getDate() + 1);
      d.setHours(9, 0, 0, 0);
    } else d.setTime(d.getTime() + mins * 60_000);
    set("startLocal", toDateTimeLocalValue(d));
  };

  return (
    <Dialog
      variant="drawer"
      size="lg"
      title="New campaign"
      description="Write your email, add recipients and choose how fast it goes out."
      onClose={onClose}
      testId="compose-dialog"
      footer={
        <>
          <div className="footer-summary" aria-live="polite">
            {count > 0 ? (
              <span>
                <strong>{count.toLocaleString()}</strong> {count === 1 ? "recipient" : "recipients"}
                {parsed.invalid.length > 0 && <span className="hint"> · {parsed.invalid.length} invalid skipped</span>}
              </span>
            ) : (
              <span className="hint">No recipients yet</span>
            )}
          </div>
          <button type="button" className="btn btn-secondary" onClick={onClose}>
            Close
          </button>
          <button type="submit" form="compose-form" className="btn btn-primary" disabled={submitting} data-testid="schedule-submit">
            {submitting ? <Spinner /> : null}
            {submitting ? "Scheduling…" : count > 0 ? `Schedule ${count.toLocaleString()} ${count === 1 ? "email" : "emails"}` : "Schedule"}
          </button>
        </>
      }
    >
      <form id="compose-form" className="form compose-form" onSubmit={submit} noValidate>
        {general.length > 0 && (
          <div className="callout callout-error" role="alert" data-testid="compose-error">
            {general.map((g, i) => (
              <p key={i}>{g}</p>
            ))}
          </div>
        )}

        <fieldset className="form-section">
          <legend>Sender</legend>
          <div className="grid-2">
            <div className="field">
              <label htmlFor="compose-sender-email">Sender email</label>
              <input
                id="compose-sender-email"
                type="email"
                autoComplete="email"
                value={draft.senderEmail}
                onChange={(e) => set("senderEmail", e.target.value)}
                ref={(el) => {
                  refs.current.senderEmail = el;
                }}
                aria-invalid={invalidAttr("senderEmail")}
                aria-describedby={describedBy("senderEmail")}
                data-testid="compose-sender-email"
              />
              {fieldError("senderEmail")}
            </div>
            <div className="field">
              <label htmlFor="compose-sender-name">Sender name</label>
              <input
                id="compose-sender-name"
                autoComplete="name"
                value={draft.senderName}
                onChange={(e) => set("senderName", e.target.value)}
                ref={(el) => {
                  refs.current.senderName = el;
                }}
                aria-invalid={invalidAttr("senderName")}
                aria-describedby={describedBy("senderName")}
                data-testid="compose-sender-name"
              />
              {fieldError("senderName")}
            </div>
          </div>
          <p className="hint">Remembered for your next campaign.</p>
        </fieldset>

        <fieldset className="form-section">
          <legend>Message</legend>
          <div className="field">
            <label htmlFor="compose-subject">Subject</label>
            <input
              id="compose-subject"
              value={draft.subject}
              onChange={(e) => set("subject", e.target.value)}
              ref={(el) => {
                refs.current.subject = el;
              }}
              aria-invalid={invalidAttr("subject")}
              aria-describedby={describedBy("subject")}
              data-testid="compose-subject"
              data-autofocus
              maxLength={998}
            />
            {fieldError("subject")}
          </div>
          <div className="field">
            <div className="field-label-row">
              <label htmlFor="compose-body">
                Body <span className="optional">(HTML)</span>
              </label>
              <div className="segmented" role="tablist" aria-label="Body view">
                <button
                  type="button"
                  role="tab"
                  aria-selected={bodyTab === "write"}
                  aria-controls="compose-body-panel"
                  className={bodyTab === "write" ? "active" : ""}
                  onClick={() => setBodyTab("write")}
                  data-testid="body-write-tab"
                >
                  Write
                </button>
                <button
                  type="button"
                  role="tab"
                  aria-selected={bodyTab === "preview"}
                  aria-controls="compose-body-panel"
                  className={bodyTab === "preview" ? "active" : ""}
                  onClick={() => setBodyTab("preview")}
                  data-testid="body-preview-tab"
                >
                  Preview
                </button>
              </div>
            </div>
            <div id="compose-body-panel" role="tabpanel" aria-label="Message editor">
              {bodyTab === "write" ? (
                <textarea
                  id="compose-body"
                  className="code-input"
                  rows={9}
                  value={draft.body}
                  onChange={(e) => set("body", e.target.value)}
                  ref={(el) => {
                    refs.current.body = el;
                  }}
                  aria-invalid={invalidAttr("body")}
                  aria-describedby={describedBy("body")}
                  placeholder={"<h1>Hello!</h1>\n<p>Our spring sale starts today…</p>"}
                  spellCheck={false}
                  data-testid="compose-body"
                />
              ) : (
                <iframe
                  className="body-preview"
                  title="Email body preview"
                  sandbox=""
                  srcDoc={previewDocument(draft.body)}
                  data-testid="body-preview"
                />
              )}
            </div>
            {fieldError("body")}
          </div>
        </fieldset>

        <fieldset className="form-section">
          <legend>Recipients</legend>
          <div
            className={`dropzone${dragging ? " dragging" : ""}${recipientsInvalid ? " invalid" : ""}`}
            onDragOver={(e) => {
              e.preventDefault();
              setDragging(true);
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={onDrop}
          >
            <div className="field">
              <div className="field-label-row">
                <label htmlFor="compose-recipients">Recipients</label>
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
                    <button
                      type="button"
                      className="btn btn-ghost btn-sm"
                      onClick={() => {
                        setDraft((d) => ({ ...d, recipientsText: "", fileName: null }));
                        setRecipientErrors([]);
                      }}
                    >
                      Clear
                    </button>
                  )}
                </div>
              </div>
              <textarea
                id="compose-recipients"
                rows={6}
                className="code-input"
                value={draft.recipientsText}
                onChange={(e) => {
                  set("recipientsText", e.target.value);
                  if (draft.fileName) set("fileName", null);
                }}
                ref={(el) => {
                  refs.current.recipients = el;
                }}
                aria-invalid={recipientsInvalid || undefined}
                aria-describedby={[describedBy("recipients"), "compose-recipients-summary", recipientErrors.length ? "compose-recipients-api-errors" : null].filter(Boolean).join(" ")}
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
              {fieldError("recipients")}
              {recipientErrors.length > 0 && (
                <div className="field-error" id="compose-recipients-api-errors" data-testid="error-recipients-list">
                  <p>
                    The server rejected {recipientErrors.length === 1 ? "this recipient" : `${recipientErrors.length} recipients`}:
                  </p>
                  <ul>
                    {recipientErrors.slice(0, 50).map((r) => (
                      <li key={r.index} data-testid="error-recipient">
                        <code>{r.value ?? `#${r.index + 1}`}</code> — {r.message}
                      </li>
                    ))}
                  </ul>
                  {recipientErrors.length > 50 && <p>…and {recipientErrors.length - 50} more.</p>}
                </div>
              )}
              <div id="compose-recipients-summary">
                <RecipientsSummary parsed={parsed} hasInput={hasRecipientsInput} />
              </div>
            </div>
          </div>
        </fieldset>

        <fieldset className="form-section">
          <legend>Timing</legend>
          <div className="grid-3">
            <div className="field">
              <label htmlFor="compose-start">Start time</label>
              <input
                id="compose-start"
                type="datetime-local"
                value={draft.startLocal}
                onChange={(e) => set("startLocal", e.target.value)}
                ref={(el) => {
                  refs.current.startTime = el;
                }}
                aria-invalid={invalidAttr("startTime")}
                aria-describedby={describedBy("startTime", "compose-start-hint")}
                data-testid="compose-start"
              />
              <p className="hint" id="compose-start-hint">
                {startTooOld
                  ? "More than an hour ago: pick a later time. "
                  : startInPast
                    ? "In the past: sending starts right away. "
                    : ""}
                Time zone: {tz}
              </p>
              <div className="chips" role="group" aria-label="Quick picks">
                <button type="button" className="chip" onClick={() => quickStart(0)}>
                  Now
                </button>
                <button type="button" className="chip" onClick={() => quickStart(15)}>
                  In 15 min
                </button>
                <button type="button" className="chip" onClick={() => quickStart(60)}>
                  In 1 hour
                </button>
                <button type="button" className="chip" onClick={() => quickStart("tomorrow")}>
                  Tomorrow 9:00
                </button>
              </div>
              {fieldError("startTime")}
            </div>
            <div className="field">
              <label htmlFor="compose-delay">Delay between emails</label>
              <div className="input-suffix">
                <input
                  id="compose-delay"
                  type="number"
                  inputMode="decimal"
                  min={0}
                  max={MAX_DELAY_SECONDS}
                  step="any"
                  value={draft.delaySeconds}
                  onChange={(e) => set("delaySeconds", e.target.value)}
                  ref={(el) => {
                    refs.current.delayMs = el;
                  }}
                  aria-invalid={invalidAttr("delayMs")}
                  aria-describedby={describedBy("delayMs", "compose-delay-hint")}
                  data-testid="compose-delay"
                />
                <span aria-hidden="true">seconds</span>
              </div>
              <p className="hint" id="compose-delay-hint">
                In seconds.
                {minGapSeconds > 0 && ` Sends from one sender are at least ${minGapSeconds.toLocaleString()} s apart.`}
              </p>
              {fieldError("delayMs")}
            </div>
            <div className="field">
              <label htmlFor="compose-hourly-limit">Hourly limit</label>
              <div className="input-suffix">
                <input
                  id="compose-hourly-limit"
                  type="number"
                  inputMode="numeric"
                  min={1}
                  step={1}
                  value={draft.hourlyLimit}
                  onChange={(e) => set("hourlyLimit", e.target.value)}
                  ref={(el) => {
                    refs.current.hourlyLimit = el;
                  }}
                  aria-invalid={invalidAttr("hourlyLimit")}
                  aria-describedby={describedBy("hourlyLimit", "compose-limit-hint")}
                  data-testid="compose-hourly-limit"
                />
                <span aria-hidden="true">per hour</span>
              </div>
              <p className="hint" id="compose-limit-hint">
                Most emails this sender sends in one hour, across all campaigns.
              </p>
              {fieldError("hourlyLimit")}
            </div>
          </div>
          <FinishEstimate plan={plan} now={now} problem={parsed.valid.length > 0 ? planProblem : null} />
        </fieldset>
      </form>
    </Dialog>
  );
}

/** A start time slightly in the past (the minute picked has begun) means now. */
function effectiveStart(startMs: number, nowMs: number): number {
  return startMs < nowMs && startMs >= nowMs - PAST_GRACE_MS ? nowMs : startMs;
}

const FIELD_OF: Partial<Record<keyof ComposeDraft, ComposeField>> = {
  senderEmail: "senderEmail",
  senderName: "senderName",
  subject: "subject",
  body: "body",
  recipientsText: "recipients",
  startLocal: "startTime",
  delaySeconds: "delayMs",
  hourlyLimit: "hourlyLimit",
};

/** Wraps the body for the sandboxed preview frame (no scripts run there). */
export function previewDocument(body: string): string {
  const content = body.trim()
    ? body
    : '<p style="color:#6b7280;font-family:system-ui,sans-serif">Nothing to preview yet. Write some HTML first.</p>';
  return `<!doctype html><html><head><meta charset="utf-8"><base target="_blank"><style>body{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#111827;line-height:1.5;margin:16px;word-wrap:break-word}img{max-width:100%}</style></head><body>${content}</body></html>`;
}
