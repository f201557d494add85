/**
 * Big lists (SPEC.md "Big lists", issue 17): a file over the threshold is not read into
 * the page; it is PUT to S3 through the import's presigned URL (with upload progress),
 * scheduled with `recipientsImportId`, and the import is polled until done or failed.
 * Pure helpers here; the compose form wires them to the API client.
 */
import type { ImportError, ImportStatus } from "../api/types";

/** Files at least this large go through an import instead of the JSON request. */
export const IMPORT_THRESHOLD_BYTES = 5 * 1024 * 1024;
/** ...and so do lists with at least this many rows. */
export const IMPORT_THRESHOLD_ROWS = 20_000;
/** The API's MAX_IMPORT_BYTES default. */
export const MAX_IMPORT_BYTES = 256 * 1024 * 1024;
export const POLL_INTERVAL_MS = 1_000;

/** Whether a file of `size` bytes (and `rows` data rows, when known) goes through an import. */
export function shouldImport(size: number, rows?: number | null): boolean {
  return size >= IMPORT_THRESHOLD_BYTES || (rows != null && rows >= IMPORT_THRESHOLD_ROWS);
}

/** Data rows in a CSV's start (header excluded), for a first estimate. */
export function countDataRows(text: string): number {
  let lines = 0;
  for (const line of text.split(/\r?\n/)) if (line.trim() !== "") lines += 1;
  return Math.max(0, lines - 1);
}

/** The rows a whole file holds, estimated from its first `sample` bytes. */
export function estimateRows(size: number, sample: string, sampleBytes: number): number {
  if (sampleBytes >= size) return countDataRows(sample);
  const rows = countDataRows(sample);
  if (rows === 0 || sampleBytes === 0) return 0;
  return Math.round((rows * size) / sampleBytes);
}

/** 0..100, whole numbers; 0 while the total is unknown. */
export function percent(done: number, total: number | null | undefined): number {
  if (!total || total <= 0) return 0;
  return Math.max(0, Math.min(100, Math.floor((done / total) * 100)));
}

export function isFinished(status: ImportStatus): boolean {
  return status.status === "done" || status.status === "failed";
}

/** What the import's progress bar shows. */
export interface ImportProgressView {
  percent: number;
  label: string;
  state: ImportStatus["status"];
}

export function importProgress(status: ImportStatus, estimatedRows: number | null): ImportProgressView {
  const n = (v: number) => v.toLocaleString("en-US");
  if (status.status === "done") {
    const dropped = [
      status.duplicates ? `${n(status.duplicates)} duplicates` : "",
      status.suppressed ? `${n(status.suppressed)} suppressed` : "",
    ].filter(Boolean);
    return {
      percent: 100,
      state: "done",
      label: `Imported ${n(status.valid)} recipients${dropped.length ? ` (${dropped.join(", ")} removed)` : ""}`,
    };
  }
  if (status.status === "failed") {
    return { percent: percent(status.rows, estimatedRows), state: "failed", label: `Import failed after ${n(status.rows)} rows` };
  }
  const shown = estimatedRows ? Math.min(99, percent(status.rows, estimatedRows)) : 0;
  return { percent: shown, state: status.status, label: `${n(status.rows)} rows processed` };
}

/** The import's errors by line, as the user reads them. */
export function describeImportErrors(errors: ImportError[]): string[] {
  return errors.map((e) => (e.line > 0 ? `Line ${e.line}: ${e.message}` : e.message));
}

/** The parts of XMLHttpRequest the upload uses (a fake in tests). */
export interface UploadRequest {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  send(body: Blob | string): void;
  abort(): void;
  status: number;
  upload: { onprogress: ((ev: { loaded: number; total: number; lengthComputable: boolean }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}

/** PUTs `body` to the presigned `url` as text/csv, calling `onProgress(0..100)`. */
export function uploadFile(
  url: string,
  body: Blob | string,
  onProgress: (pct: number) => void,
  makeRequest: () => UploadRequest = () => new XMLHttpRequest() as unknown as UploadRequest,
  signal?: AbortSignal,
  headers: Record<string, string> = { "Content-Type": "text/csv" },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = makeRequest();
    const size = typeof body === "string" ? body.length : body.size;
    xhr.open("PUT", url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (ev) => onProgress(percent(ev.loaded, ev.lengthComputable ? ev.total : size));
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(100);
        resolve();
      } else reject(new Error(`The upload failed (HTTP ${xhr.status}).`));
    };
    xhr.onerror = () => reject(new Error("The upload failed: can't reach the storage service."));
    xhr.onabort = () => reject(new DOMException("The upload was cancelled.", "AbortError"));
    signal?.addEventListener("abort", () => xhr.abort());
    xhr.send(body);
  });
}

/** Polls `get` until the import is done or failed, reporting each answer. */
export async function pollImport(
  get: () => Promise<ImportStatus>,
  onUpdate: (s: ImportStatus) => void,
  { intervalMs = POLL_INTERVAL_MS, sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms)), signal }: {
    intervalMs?: number;
    sleep?: (ms: number) => Promise<void>;
    signal?: AbortSignal;
  } = {},
): Promise<ImportStatus> {
  for (;;) {
    if (signal?.aborted) throw new DOMException("Stopped watching the import.", "AbortError");
    const status = await get();
    onUpdate(status);
    if (isFinished(status)) return status;
    await sleep(intervalMs);
  }
}
