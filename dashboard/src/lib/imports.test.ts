import { describe, expect, it, vi } from "vitest";
import type { ImportStatus } from "../api/types";
import {
  countDataRows,
  describeImportErrors,
  estimateRows,
  importProgress,
  IMPORT_THRESHOLD_BYTES,
  percent,
  pollImport,
  shouldImport,
  uploadFile,
  type UploadRequest,
} from "./imports";

const status = (over: Partial<ImportStatus> = {}): ImportStatus => ({
  importId: "i1", status: "importing", rows: 0, valid: 0, invalid: 0, duplicates: 0, suppressed: 0, errors: [], ...over,
});

describe("shouldImport", () => {
  it("takes big files and long lists", () => {
    expect(shouldImport(IMPORT_THRESHOLD_BYTES)).toBe(true);
    expect(shouldImport(IMPORT_THRESHOLD_BYTES - 1)).toBe(false);
    expect(shouldImport(1000, 20_000)).toBe(true);
    expect(shouldImport(1000, 19_999)).toBe(false);
  });
});

describe("rows", () => {
  it("counts data rows without the header or blank lines", () => {
    expect(countDataRows("email\r\na@x.com\n\nb@x.com\n")).toBe(2);
    expect(countDataRows("email\n")).toBe(0);
  });
  it("estimates a file's rows from its start", () => {
    expect(estimateRows(100, "email\na\nb\n", 100)).toBe(2);
    expect(estimateRows(1000, "email\na\nb\n", 100)).toBe(20);
  });
});

describe("progress", () => {
  it("percent is whole and bounded", () => {
    expect(percent(1, 3)).toBe(33);
    expect(percent(5, 0)).toBe(0);
    expect(percent(7, 5)).toBe(100);
  });
  it("shows rows processed, never 100 % before done", () => {
    expect(importProgress(status({ rows: 500 }), 1000)).toEqual({ percent: 50, state: "importing", label: "500 rows processed" });
    expect(importProgress(status({ rows: 1000 }), 1000).percent).toBe(99);
    const done = importProgress(status({ status: "done", rows: 1003, valid: 1000, duplicates: 3 }), 1000);
    expect(done).toEqual({ percent: 100, state: "done", label: "Imported 1,000 recipients (3 duplicates removed)" });
    expect(importProgress(status({ status: "failed", rows: 10 }), null).label).toBe("Import failed after 10 rows");
  });
  it("lists errors by line", () => {
    expect(describeImportErrors([{ line: 3, message: "bad address" }, { line: 0, message: "too big" }])).toEqual([
      "Line 3: bad address",
      "too big",
    ]);
  });
});

function fakeRequest(statusCode = 200) {
  const sent: { method?: string; url?: string; headers: Record<string, string>; body?: unknown } = { headers: {} };
  const xhr: UploadRequest = {
    status: statusCode,
    upload: { onprogress: null },
    onload: null,
    onerror: null,
    onabort: null,
    open: (method, url) => Object.assign(sent, { method, url }),
    setRequestHeader: (k, v) => void (sent.headers[k] = v),
    send: (body) => {
      sent.body = body;
      xhr.upload.onprogress?.({ loaded: 5, total: 10, lengthComputable: true });
      xhr.onload?.();
    },
    abort: () => xhr.onabort?.(),
  };
  return { xhr, sent };
}

describe("uploadFile", () => {
  it("PUTs text/csv and reports progress", async () => {
    const { xhr, sent } = fakeRequest();
    const seen: number[] = [];
    await uploadFile("https://s3/put", "email\na@x.com\n", (p) => seen.push(p), () => xhr);
    expect(sent).toMatchObject({ method: "PUT", url: "https://s3/put", headers: { "Content-Type": "text/csv" } });
    expect(seen).toEqual([50, 100]);
  });
  it("rejects on an error status", async () => {
    const { xhr } = fakeRequest(403);
    await expect(uploadFile("u", "x", () => {}, () => xhr)).rejects.toThrow("HTTP 403");
  });
});

describe("pollImport", () => {
  it("polls until done, reporting each answer", async () => {
    const answers = [status({ rows: 10 }), status({ rows: 20 }), status({ status: "done", rows: 30, valid: 30 })];
    const get = vi.fn(async () => answers.shift()!);
    const updates: number[] = [];
    const sleep = vi.fn(async () => {});
    const final = await pollImport(get, (s) => updates.push(s.rows), { sleep });
    expect(final.status).toBe("done");
    expect(updates).toEqual([10, 20, 30]);
    expect(sleep).toHaveBeenCalledTimes(2);
  });
});
