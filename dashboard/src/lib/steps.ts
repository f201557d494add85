/**
 * Follow-up steps (issue 16): the wait in days or hours as `waitSeconds`, the
 * subject a follow-up gets without one, and per-step progress of a batch.
 */
import type { BatchStepCounts, EmailStatus, SequenceStep } from "../api/types";

export type WaitUnit = "days" | "hours";

export interface StepDraft {
  /** Empty: sent as "Re: <first subject>". */
  subject: string;
  body: string;
  wait: string;
  unit: WaitUnit;
}

const UNIT_SECONDS: Record<WaitUnit, number> = { days: 86_400, hours: 3_600 };
/** The most steps Compose offers. */
export const MAX_STEPS = 10;

export function newStep(): StepDraft {
  return { subject: "", body: "", wait: "3", unit: "days" };
}

/** Seconds for a wait of `amount` units, or null when it is not a positive number. */
export function waitToSeconds(amount: string, unit: WaitUnit): number | null {
  const n = Number(amount);
  if (amount.trim() === "" || !Number.isFinite(n) || n <= 0) return null;
  return Math.round(n * UNIT_SECONDS[unit]);
}

/** The other way, in the largest whole unit. */
export function secondsToWait(seconds: number): { wait: string; unit: WaitUnit } {
  if (seconds >= 86_400 && seconds % 86_400 === 0) return { wait: String(seconds / 86_400), unit: "days" };
  return { wait: String(Math.round((seconds / 3_600) * 100) / 100), unit: "hours" };
}

export function formatWait(seconds: number): string {
  const { wait, unit } = secondsToWait(seconds);
  const n = Number(wait);
  return `${wait} ${n === 1 ? unit.slice(0, -1) : unit}`;
}

/** What a follow-up without a subject is sent as (SPEC.md). */
export function followUpSubject(firstSubject: string): string {
  const s = firstSubject.trim();
  return /^re:/i.test(s) ? s : `Re: ${s}`;
}

export type StepErrors = Partial<Record<"body" | "wait", string>>;

export function validateStep(s: StepDraft): StepErrors {
  const e: StepErrors = {};
  if (!s.body.trim()) e.body = "Write the follow-up";
  if (waitToSeconds(s.wait, s.unit) === null) e.wait = "Wait a positive number of days or hours";
  return e;
}

/** The request's steps; a blank subject is left out (the server uses "Re: …"). */
export function toSequenceSteps(drafts: StepDraft[]): SequenceStep[] {
  return drafts.map((d) => {
    const step: SequenceStep = { body: d.body, waitSeconds: waitToSeconds(d.wait, d.unit) ?? 0 };
    if (d.subject.trim()) step.subject = d.subject.trim();
    return step;
  });
}

const PENDING: readonly string[] = ["scheduled", "queued", "sending", "paused", "held"];
const STOPPED: readonly string[] = ["replied", "suppressed", "cancelled", "failed"];

export interface StepEmail {
  step?: number;
  status: EmailStatus | string;
  recipientEmail: string;
}

export interface StepProgress extends BatchStepCounts {
  /** Recipients whose sequence a reply stopped, at this step. */
  repliedBy: string[];
}

/**
 * Per-step counts from a batch's emails (GET /emails/scheduled and /emails/sent
 * with batchId); an email without `step` is step 1. `totalSteps` fills steps
 * with no emails yet (follow-ups planned only once the previous one was sent).
 */
export function stepProgress(emails: StepEmail[], totalSteps = 1): StepProgress[] {
  const by = new Map<number, StepProgress>();
  const get = (step: number) => {
    let p = by.get(step);
    if (!p) by.set(step, (p = { step, sent: 0, pending: 0, stopped: 0, repliedBy: [] }));
    return p;
  };
  for (let s = 1; s <= totalSteps; s++) get(s);
  for (const e of emails) {
    const p = get(e.step && e.step > 0 ? e.step : 1);
    if (e.status === "sent") p.sent++;
    else if (PENDING.includes(e.status)) p.pending++;
    else if (STOPPED.includes(e.status)) p.stopped++;
    if (e.status === "replied" && !p.repliedBy.includes(e.recipientEmail)) p.repliedBy.push(e.recipientEmail);
  }
  return [...by.values()].sort((a, b) => a.step - b.step);
}

/** The server's per-step counts where it sends them (optional field), else null. */
export function serverSteps(steps: unknown): BatchStepCounts[] | null {
  if (!Array.isArray(steps) || steps.length === 0) return null;
  const ok = steps.every((s) => s && typeof s === "object" && typeof (s as BatchStepCounts).step === "number");
  if (!ok) return null;
  return (steps as BatchStepCounts[]).map((s) => ({
    ...s,
    sent: Number(s.sent) || 0,
    pending: Number(s.pending) || 0,
    stopped: Number(s.stopped) || 0,
  }));
}
