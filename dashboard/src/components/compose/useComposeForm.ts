import { useDeferredValue, useMemo, useRef, useState, type FormEvent } from "react";
import type { ScheduleRequest, ScheduleResponse } from "../../api/types";
import { useNow } from "../../hooks/useNow";
import type { ComposeField, RecipientError } from "../../lib/fieldErrors";
import { parseRecipients } from "../../lib/recipients";
import { summarizePlan, type PlanOptions } from "../../lib/schedule";
import { effectiveStartMs } from "../../lib/startTime";
import { clearMessage, rememberComposeDefaults, type ComposeDraft } from "../composeDraft";
import {
  buildScheduleRequest,
  describeRejection,
  FIELD_OF,
  firstInvalid,
  readTiming,
  validateCompose,
  type FieldErrors,
} from "./composeForm";

export type BodyView = "write" | "preview";

export interface ComposeFormOptions {
  draft: ComposeDraft;
  setDraft: (updater: (d: ComposeDraft) => ComposeDraft) => void;
  planOptions: PlanOptions;
  /** Sends the request (the API client's `schedule`). */
  schedule: (req: ScheduleRequest) => Promise<ScheduleResponse>;
  onScheduled: (res: ScheduleResponse, req: ScheduleRequest) => void;
}

/** The compose form's state, validation and submit; the field components only render it. */
export function useComposeForm({ draft, setDraft, planOptions, schedule, onScheduled }: ComposeFormOptions) {
  const now = useNow(15_000);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [recipientErrors, setRecipientErrors] = useState<RecipientError[]>([]);
  const [general, setGeneral] = useState<string[]>([]);
  const [submitting, setSubmitting] = useState(false);
  const [bodyView, setBodyView] = useState<BodyView>("write");
  const controls = useRef<Partial<Record<ComposeField, HTMLElement | null>>>({});

  // Parsing a 100k-line paste must not hold up typing.
  const recipientsText = useDeferredValue(draft.recipientsText);
  const parsed = useMemo(() => parseRecipients(recipientsText), [recipientsText]);
  const hasRecipientsInput = draft.recipientsText.trim() !== "";

  const timing = readTiming(draft, now);
  const startMs = timing.start ? effectiveStartMs(timing.start.getTime(), now) : null;
  const plan = useMemo(() => {
    if (timing.problem || startMs === null || parsed.valid.length === 0) return null;
    return summarizePlan({
      count: parsed.valid.length,
      startMs,
      delayMs: Math.round(timing.delaySeconds * 1000),
      hourlyLimit: timing.hourlyLimit,
      ...planOptions,
    });
  }, [timing.problem, startMs, parsed.valid.length, timing.delaySeconds, timing.hourlyLimit, planOptions]);

  /** Sets one draft value and clears the error it answered. */
  const set = <K extends keyof ComposeDraft>(key: K, value: ComposeDraft[K]) => {
    setDraft((d) => ({ ...d, [key]: value }));
    const field = FIELD_OF[key];
    if (field && errors[field]) setErrors((e) => ({ ...e, [field]: undefined }));
    if (key === "recipientsText" && recipientErrors.length) setRecipientErrors([]);
  };

  /** Replaces the recipients with a file's text (null name: cleared). */
  const loadRecipients = (text: string, fileName: string | null) => {
    setDraft((d) => ({ ...d, recipientsText: text, fileName }));
    if (text) setErrors((e) => ({ ...e, recipients: undefined }));
    setRecipientErrors([]);
  };

  /** A ref callback that lets the form focus `field` when it is invalid. */
  const register = (field: ComposeField) => (el: HTMLElement | null) => {
    controls.current[field] = el;
  };

  const focus = (field: ComposeField | null) => {
    if (!field) return;
    if (field === "body") setBodyView("write");
    // After the render that shows the error (and the body editor).
    window.setTimeout(() => controls.current[field]?.focus(), 0);
  };

  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    if (submitting) return;
    setGeneral([]);
    setRecipientErrors([]);
    const invalid = validateCompose(draft, parsed, timing);
    setErrors(invalid);
    if (Object.keys(invalid).length > 0) {
      focus(firstInvalid(invalid));
      return;
    }
    const req = buildScheduleRequest(draft, parsed.valid, timing, Date.now());
    setSubmitting(true);
    try {
      const res = await schedule(req);
      rememberComposeDefaults(draft);
      setDraft(clearMessage);
      onScheduled(res, req);
    } catch (err) {
      const rejection = describeRejection(err, req);
      setErrors(rejection.errors);
      setRecipientErrors(rejection.recipientErrors);
      setGeneral(rejection.general);
      focus(rejection.focus);
    } finally {
      setSubmitting(false);
    }
  };

  return {
    draft,
    now,
    errors,
    recipientErrors,
    general,
    submitting,
    parsed,
    hasRecipientsInput,
    timing,
    plan,
    bodyView,
    setBodyView,
    set,
    loadRecipients,
    register,
    submit,
  };
}

export type ComposeForm = ReturnType<typeof useComposeForm>;
