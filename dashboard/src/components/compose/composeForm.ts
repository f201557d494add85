import { ApiError, describeError } from "../../api/client";
import type { Recipient, ScheduleRequest, SendingWindow } from "../../api/types";
import { isValidEmail } from "../../lib/email";
import { mapErrorDetails, type ComposeField, type RecipientError } from "../../lib/fieldErrors";
import type { ParsedRecipients } from "../../lib/recipients";
import { toSendingWindow, validateWindow, type WindowErrors } from "../../lib/sendingWindow";
import { toSequenceSteps, validateStep, type StepErrors } from "../../lib/steps";
import { effectiveStartMs, startTimeStatus, type StartTimeStatus } from "../../lib/startTime";
import { parseDateTimeLocal, toIsoWithOffset } from "../../lib/time";
import type { ComposeDraft } from "../composeDraft";

/** The API's largest delay between two emails (24 hours). */
export const MAX_DELAY_SECONDS = 24 * 3600;

export type FieldErrors = Partial<Record<ComposeField, string[]>>;

/** Form order: the first field with an error gets the focus. */
export const FIELD_ORDER: ComposeField[] = [
  "senderIds",
  "senderEmail",
  "senderName",
  "subject",
  "body",
  "steps",
  "recipients",
  "startTime",
  "delayMs",
  "hourlyLimit",
  "randomDelayMs",
  "sendingWindow",
  "tracking",
];

/** The field whose error an edit of a draft key clears. */
export const FIELD_OF: Partial<Record<keyof ComposeDraft, ComposeField>> = {
  senderEmail: "senderEmail",
  senderName: "senderName",
  subject: "subject",
  body: "body",
  recipientsText: "recipients",
  startLocal: "startTime",
  delaySeconds: "delayMs",
  hourlyLimit: "hourlyLimit",
  senderIds: "senderIds",
  jitterSeconds: "randomDelayMs",
  windowZone: "sendingWindow",
  windowDays: "sendingWindow",
  windowStart: "sendingWindow",
  windowEnd: "sendingWindow",
  windowOn: "sendingWindow",
  steps: "steps",
  trackOpens: "tracking",
  trackClicks: "tracking",
};

/** How the campaign is sent: through chosen sender accounts, or from a typed address. */
export interface SendVia {
  /** True when the user has sender accounts and picks among them. */
  accounts: boolean;
}

export const TYPED_ADDRESS: SendVia = { accounts: false };

/** The window, jitter and steps read from the draft (issues 15, 16). */
export interface Extras {
  window: SendingWindow | null;
  windowErrors: WindowErrors;
  jitterMs: number;
  jitterOk: boolean;
  stepErrors: StepErrors[];
}

export function readExtras(draft: ComposeDraft): Extras {
  const windowErrors = draft.windowOn
    ? validateWindow({ timezone: draft.windowZone, days: draft.windowDays, start: draft.windowStart, end: draft.windowEnd })
    : {};
  const ok = Object.keys(windowErrors).length === 0;
  const win = draft.windowOn && ok
    ? toSendingWindow({ timezone: draft.windowZone, days: draft.windowDays, start: draft.windowStart, end: draft.windowEnd })
    : null;
  const jitter = draft.jitterSeconds.trim() === "" ? 0 : Number(draft.jitterSeconds);
  const jitterOk = Number.isFinite(jitter) && jitter >= 0 && jitter <= MAX_DELAY_SECONDS;
  return {
    window: win,
    windowErrors,
    jitterMs: jitterOk ? Math.round(jitter * 1000) : 0,
    jitterOk,
    stepErrors: draft.steps.map(validateStep),
  };
}

/** The errors of the window, jitter and steps, in the form's shape. */
function extrasErrors(draft: ComposeDraft, x: Extras, via: SendVia): FieldErrors {
  const e: FieldErrors = {};
  if (via.accounts && draft.senderIds.length === 0) e.senderIds = ["Pick at least one sender"];
  if (via.accounts && draft.senderIds.length > 50) e.senderIds = ["Pick at most 50 senders"];
  const win = Object.values(x.windowErrors);
  if (win.length) e.sendingWindow = win as string[];
  if (!x.jitterOk) e.randomDelayMs = [`Enter 0 to ${MAX_DELAY_SECONDS.toLocaleString()} seconds`];
  const bad = x.stepErrors.findIndex((se) => Object.keys(se).length > 0);
  if (bad >= 0) e.steps = [`Follow-up ${bad + 1}: ${Object.values(x.stepErrors[bad]).join(". ")}`];
  return e;
}

export interface Timing {
  start: Date | null;
  startStatus: StartTimeStatus | null;
  delaySeconds: number;
  hourlyLimit: number;
  delayOk: boolean;
  limitOk: boolean;
  /** Why no estimate can be shown, or null. */
  problem: string | null;
}

/** The timing fields read as numbers, checked against `nowMs`. */
export function readTiming(draft: ComposeDraft, nowMs: number): Timing {
  const start = parseDateTimeLocal(draft.startLocal);
  const delaySeconds = Number(draft.delaySeconds);
  const hourlyLimit = Number(draft.hourlyLimit);
  const delayOk =
    draft.delaySeconds.trim() !== "" &&
    Number.isFinite(delaySeconds) &&
    delaySeconds >= 0 &&
    delaySeconds <= MAX_DELAY_SECONDS;
  const limitOk = Number.isInteger(hourlyLimit) && hourlyLimit >= 1;
  const problem = !start
    ? "Pick a start time."
    : !delayOk
      ? `Enter a delay from 0 to ${MAX_DELAY_SECONDS.toLocaleString()} seconds.`
      : !limitOk
        ? "Enter an hourly limit of at least 1."
        : null;
  const startStatus = start ? startTimeStatus(start.getTime(), nowMs) : null;
  return { start, startStatus, delaySeconds, hourlyLimit, delayOk, limitOk, problem };
}

/** What the browser can check before sending; the API checks the rest. */
export function validateCompose(
  draft: ComposeDraft,
  parsed: ParsedRecipients,
  timing: Timing,
  via: SendVia = TYPED_ADDRESS,
): FieldErrors {
  const e: FieldErrors = extrasErrors(draft, readExtras(draft), via);
  if (!via.accounts && !isValidEmail(draft.senderEmail.trim())) e.senderEmail = ["Enter the sender's email address"];
  if (!draft.subject.trim()) e.subject = ["Add a subject"];
  if (!draft.body.trim()) e.body = ["Write the email body"];
  if (parsed.valid.length === 0)
    e.recipients = [
      draft.recipientsText.trim() !== "" ? "None of these lines is a valid email address" : "Add at least one recipient",
    ];
  if (!timing.start) e.startTime = ["Pick a valid start time"];
  if (!timing.delayOk)
    e.delayMs = [
      timing.delaySeconds > MAX_DELAY_SECONDS
        ? `Enter at most ${MAX_DELAY_SECONDS.toLocaleString()} seconds (24 hours)`
        : "Enter 0 seconds or more",
    ];
  if (!timing.limitOk) e.hourlyLimit = ["Enter a whole number of at least 1"];
  return e;
}

/** The request for a valid form, its start moved to now when it has just passed. */
export function buildScheduleRequest(
  draft: ComposeDraft,
  recipients: Recipient[],
  timing: Timing,
  nowMs: number,
  via: SendVia = TYPED_ADDRESS,
): ScheduleRequest {
  if (!timing.start) throw new Error("buildScheduleRequest needs a start time");
  const req: ScheduleRequest = {
    subject: draft.subject.trim(),
    body: draft.body,
    recipients,
    startTime: toIsoWithOffset(new Date(effectiveStartMs(timing.start.getTime(), nowMs))),
    delayMs: Math.round(timing.delaySeconds * 1000),
    hourlyLimit: timing.hourlyLimit,
  };
  if (via.accounts) req.senderIds = [...draft.senderIds];
  else req.sender = { email: draft.senderEmail.trim(), name: draft.senderName.trim() };
  return { ...req, ...extrasRequest(draft) };
}

/** Only what the user turned on, so the original API's requests stay as they were. */
function extrasRequest(draft: ComposeDraft): Partial<ScheduleRequest> {
  const x = readExtras(draft);
  const out: Partial<ScheduleRequest> = {};
  if (x.window) out.sendingWindow = x.window;
  if (x.jitterMs > 0) out.randomDelayMs = x.jitterMs;
  if (draft.steps.length > 0) out.steps = toSequenceSteps(draft.steps);
  if (draft.trackOpens || draft.trackClicks) out.tracking = { opens: draft.trackOpens, clicks: draft.trackClicks };
  return out;
}

export interface Rejection {
  errors: FieldErrors;
  recipientErrors: RecipientError[];
  general: string[];
  /** The field to focus, if any. */
  focus: ComposeField | null;
}

/** Sorts a failed schedule call onto the form. */
export function describeRejection(err: unknown, req: ScheduleRequest): Rejection {
  if (!(err instanceof ApiError) || err.details.length === 0)
    return { errors: {}, recipientErrors: [], general: [describeError(err)], focus: null };
  const mapped = mapErrorDetails(err.details, req.recipients ?? []);
  const anyField = Object.keys(mapped.fields).length > 0 || mapped.recipients.length > 0;
  const general = [err.message || (anyField ? "Please fix the highlighted fields." : "The request was rejected."), ...mapped.general];
  const focus = firstInvalid(mapped.fields, mapped.recipients.length > 0);
  return { errors: mapped.fields, recipientErrors: mapped.recipients, general, focus };
}

/** The first field in form order with an error (`recipientsInvalid`: the API's per-recipient list). */
export function firstInvalid(errors: FieldErrors, recipientsInvalid = false): ComposeField | null {
  return FIELD_ORDER.find((f) => errors[f]?.length || (f === "recipients" && recipientsInvalid)) ?? null;
}
