import { useDeferredValue, useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import type {
  Batch,
  ImportCreated,
  ImportStatus,
  SkippedRows,
  ScheduleImportResponse,
  ScheduleRequest,
  ScheduleResponse,
  SenderAccount,
} from "../../api/types";
import { describeImportErrors, estimateRows, pollImport, uploadFile } from "../../lib/imports";
import { withFields } from "../../lib/csvFields";
import { initialSenderIds } from "../../lib/senders";
import { estimateWithWindow } from "../../lib/sendingWindow";
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
  readExtras,
  readTiming,
  validateCompose,
  type FieldErrors,
} from "./composeForm";
import { useMergeFields } from "./useMergeFields";

export type BodyView = "write" | "preview";

export interface ComposeFormOptions {
  draft: ComposeDraft;
  setDraft: (updater: (d: ComposeDraft) => ComposeDraft) => void;
  planOptions: PlanOptions;
  /** Sends the request (the API client's `schedule`). */
  schedule: (req: ScheduleRequest) => Promise<ScheduleResponse>;
  onScheduled: (res: ScheduleResponse, req: ScheduleRequest, skipped?: SkippedRows) => void;
  /** The user's sender accounts (null while loading or unavailable: the typed address). */
  senders?: SenderAccount[] | null;
  /** Big lists: the API calls a large file goes through (SPEC.md "Big lists"). */
  importer?: Importer;
}

export interface Importer {
  createImport: (size: number) => Promise<ImportCreated>;
  scheduleImport: (req: ScheduleRequest) => Promise<ScheduleImportResponse>;
  getImport: (importId: string) => Promise<ImportStatus>;
  /** The imported batch: its plan's start and finish are what the toast tells. */
  getBatch?: (batchId: string) => Promise<Batch>;
  /** PUT to the presigned URL (XHR with upload progress by default). */
  upload?: (url: string, file: Blob, onProgress: (pct: number) => void, headers?: Record<string, string>) => Promise<void>;
}

/** A large file waiting to be imported, and how far its upload and import got. */
export interface ImportFile {
  file: File;
  estimatedRows: number;
}

/** The compose form's state, validation and submit; the field components only render it. */
export function useComposeForm({ draft, setDraft, planOptions, schedule, onScheduled, senders = null, importer }: ComposeFormOptions) {
  const [importFile, setImportFile] = useState<ImportFile | null>(null);
  const [uploadPercent, setUploadPercent] = useState<number | null>(null);
  const [importStatus, setImportStatus] = useState<ImportStatus | null>(null);
  const [importErrors, setImportErrors] = useState<string[]>([]);
  const now = useNow(15_000);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [recipientErrors, setRecipientErrors] = useState<RecipientError[]>([]);
  const [general, setGeneral] = useState<string[]>([]);
  const [submitting, setSubmitting] = useState(false);
  const [bodyView, setBodyView] = useState<BodyView>("write");
  const controls = useRef<Partial<Record<ComposeField, HTMLElement | null>>>({});
  const [typeAddress, setTypeAddress] = useState(false);
  const hasAccounts = !!senders && senders.length > 0;
  const via = { accounts: hasAccounts && !typeAddress };
  // Picks of deleted senders drop out; a user with one sender has it picked.
  useEffect(() => {
    if (!senders) return;
    setDraft((d) => {
      const ids = initialSenderIds(d.senderIds, senders);
      return ids.length === d.senderIds.length && ids.every((id, i) => id === d.senderIds[i]) ? d : { ...d, senderIds: ids };
    });
  }, [senders, setDraft]);
  const extras = readExtras(draft);

  // Parsing a 100k-line paste must not hold up typing.
  const recipientsText = useDeferredValue(draft.recipientsText);
  const parsed = useMemo(() => parseRecipients(recipientsText), [recipientsText]);
  const hasRecipientsInput = draft.recipientsText.trim() !== "";
  const merge = useMergeFields({
    recipientsText,
    subject: draft.subject,
    body: draft.body,
    setTemplate: (target, value) => set(target, value),
    control: (target) => controls.current[target],
    showEditor: () => setBodyView("write"),
  });
  const recipients = useMemo(() => withFields(parsed.valid, merge.table), [parsed.valid, merge.table]);
  const rotation = via.accounts ? Math.max(1, draft.senderIds.length) : 1;

  const timing = readTiming(draft, now);
  const startMs = timing.start ? effectiveStartMs(timing.start.getTime(), now) : null;
  // The window is a new object each render; its text is what matters.
  const windowKey = JSON.stringify(extras.window);
  const plan = useMemo(() => {
    if (timing.problem || startMs === null || parsed.valid.length === 0) return null;
    // Rotation: each sender sends its share in turn, with its own limits.
    const count = Math.ceil(parsed.valid.length / rotation);
    const delayMs = Math.round(timing.delaySeconds * 1000) + Math.round(extras.jitterMs / 2);
    const summary = summarizePlan({ count, startMs, delayMs, hourlyLimit: timing.hourlyLimit, ...planOptions });
    const win = extras.window;
    if (!win || summary.finishMs === null) return summary;
    const finishMs = estimateWithWindow(startMs, count, summary.gapMs, win) ?? summary.finishMs;
    return { ...summary, firstMs: estimateWithWindow(startMs, 1, 0, win) ?? summary.firstMs, finishMs };
  }, [timing.problem, startMs, parsed.valid.length, timing.delaySeconds, timing.hourlyLimit, planOptions, rotation, extras.jitterMs, windowKey]);

  /** Sets one draft value and clears the error it answered. */
  const set = <K extends keyof ComposeDraft>(key: K, value: ComposeDraft[K]) => {
    setDraft((d) => ({ ...d, [key]: value }));
    const field = FIELD_OF[key];
    if (field && errors[field]) setErrors((e) => ({ ...e, [field]: undefined }));
    if (key === "recipientsText" && recipientErrors.length) setRecipientErrors([]);
  };

  /** A file too large for one request: uploaded and imported on submit instead. */
  const attachImportFile = async (file: File | null) => {
    setImportStatus(null);
    setUploadPercent(null);
    setImportErrors([]);
    if (!file) return setImportFile(null);
    const sampleBytes = Math.min(file.size, 256 * 1024);
    const sample = await file.slice(0, sampleBytes).text();
    setImportFile({ file, estimatedRows: estimateRows(file.size, sample, sampleBytes) });
    setDraft((d) => ({ ...d, recipientsText: "", fileName: file.name }));
    setErrors((e) => ({ ...e, recipients: undefined }));
    setRecipientErrors([]);
  };

  /** Replaces the recipients with a file's text (null name: cleared). */
  const loadRecipients = (text: string, fileName: string | null) => {
    setImportFile(null);
    setImportStatus(null);
    setUploadPercent(null);
    setImportErrors([]);
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
    const invalid = validateCompose(draft, parsed, timing, via);
    if (importFile) delete invalid.recipients; // the import job checks the file's rows
    setErrors(invalid);
    if (Object.keys(invalid).length > 0) {
      focus(firstInvalid(invalid));
      return;
    }
    if (importFile && importer) return submitImport(importFile, importer);
    const req = buildScheduleRequest(draft, recipients, timing, Date.now(), via);
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

  /** Upload (progress), schedule with recipientsImportId, then poll the import. */
  const submitImport = async (pending: ImportFile, api: Importer) => {
    const { recipients: _none, ...base } = buildScheduleRequest(draft, [], timing, Date.now(), via);
    setSubmitting(true);
    setImportErrors([]);
    setImportStatus(null);
    try {
      const created = await api.createImport(pending.file.size);
      setUploadPercent(0);
      const upload = api.upload ?? ((url, file, onProgress, headers) => uploadFile(url, file, onProgress, undefined, undefined, headers));
      await upload(created.uploadUrl, pending.file, setUploadPercent, created.uploadHeaders);
      // Invalid rows are left out and listed in the toast rather than failing the list.
      const req: ScheduleRequest = { ...base, recipientsImportId: created.importId, skipInvalid: true };
      const answer = await api.scheduleImport(req);
      const final = await pollImport(() => api.getImport(created.importId), setImportStatus);
      if (final.status === "failed") {
        setImportErrors(describeImportErrors(final.errors));
        return;
      }
      rememberComposeDefaults(draft);
      setDraft(clearMessage);
      setImportFile(null);
      const batchId = final.batchId ?? answer.batchId;
      onScheduled(await importedResult(final, batchId, req, api), req, { count: final.invalid, errors: final.errors });
    } catch (err) {
      const rejection = describeRejection(err, { ...base, recipients: [] });
      setErrors(rejection.errors);
      setGeneral(rejection.general.length ? rejection.general : [err instanceof Error ? err.message : String(err)]);
      focus(rejection.focus);
    } finally {
      setSubmitting(false);
    }
  };

  return {
    draft,
    now,
    importFile,
    uploadPercent,
    importStatus,
    importErrors,
    attachImportFile,
    canImport: !!importer,
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
    senders: senders ?? [],
    via,
    typeAddress,
    setTypeAddress,
    extras,
    merge,
    recipients,
    set,
    loadRecipients,
    register,
    submit,
  };
}

export type ComposeForm = ReturnType<typeof useComposeForm>;

/** The schedule answer for an import: the plan's start and finish from the batch itself
 * (the request's start time is not when the last email goes). */
async function importedResult(final: ImportStatus, batchId: string, req: ScheduleRequest, api: Importer): Promise<ScheduleResponse> {
  const batch = api.getBatch ? await api.getBatch(batchId).catch(() => null) : null;
  return {
    success: true,
    batchId,
    emailCount: final.valid,
    duplicatesRemoved: final.duplicates,
    suppressedRemoved: final.suppressed,
    startTime: batch?.startTime ?? req.startTime,
    estimatedEndTime: batch?.estimatedEndTime ?? batch?.startTime ?? req.startTime,
  };
}
