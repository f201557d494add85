/**
 * Suppression list import and export (issue 14). Import: one address per line,
 * or a CSV whose header names an email column (papaparse). Export: a CSV of
 * email, reason, createdAt.
 */
import Papa from "papaparse";
import type { Suppression } from "../api/types";
import { emailKey, isValidEmail } from "./email";
import { extractCandidates } from "./recipients";

export interface SuppressionImport {
  emails: string[];
  invalid: { line: number; text: string }[];
}

/** Addresses to suppress from a file or a paste; duplicates dropped, the first kept. */
export function parseSuppressionImport(text: string): SuppressionImport {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rows = Papa.parse<string[]>(src, { skipEmptyLines: "greedy", delimitersToGuess: [",", ";", "\t", "|"] }).data;
  const header = rows[0] ?? [];
  const col = header.some((c) => c.includes("@")) ? -1 : header.findIndex((c) => /^\s*e-?mail(\s*address)?\s*$/i.test(c));
  const body = col >= 0 || (header.length > 0 && !header.some((c) => c.includes("@"))) ? rows.slice(1) : rows;
  const offset = rows.length - body.length;
  const seen = new Set<string>();
  const out: SuppressionImport = { emails: [], invalid: [] };
  body.forEach((row, i) => {
    const cells = col >= 0 ? [row[col] ?? ""] : row.filter((c) => c.includes("@"));
    const found = cells.flatMap(extractCandidates).filter(isValidEmail);
    if (found.length === 0) {
      const t = row.join(", ").trim();
      if (t && !t.startsWith("#")) out.invalid.push({ line: i + 1 + offset, text: t });
      return;
    }
    for (const e of found) {
      if (seen.has(emailKey(e))) continue;
      seen.add(emailKey(e));
      out.emails.push(e);
    }
  });
  return out;
}

/** The list as CSV text (header email,reason,createdAt; CRLF like Excel). */
export function suppressionsToCsv(rows: Suppression[]): string {
  return Papa.unparse(
    { fields: ["email", "reason", "createdAt"], data: rows.map((r) => [r.email, r.reason, r.createdAt]) },
    { newline: "\r\n" },
  );
}

export const SUPPRESSION_REASON_LABELS: Record<string, string> = {
  unsubscribed: "Unsubscribed",
  hard_bounce: "Hard bounce",
  complaint: "Complaint",
  manual: "Added by you",
};
