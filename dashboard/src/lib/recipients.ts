import { emailKey, isValidEmail } from "./email";

export interface InvalidLine {
  /** 1-based line number in the pasted text or file. */
  line: number;
  /** The offending text (a cell, or the whole line when no address was found). */
  text: string;
  reason: string;
}

export interface DuplicateEntry {
  line: number;
  email: string;
  /** Line where the address first appeared. */
  firstLine: number;
}

export interface ParsedRecipients {
  /** Unique, valid addresses in the order they first appear. */
  valid: string[];
  duplicates: DuplicateEntry[];
  invalid: InvalidLine[];
  /** The header row that was recognised and skipped, if any. */
  header: string[] | null;
  /** Index of the column addresses were taken from, when a header named one. */
  emailColumn: number | null;
}

interface Row {
  line: number;
  cells: string[];
}

const DELIMITERS = [",", ";", "\t"] as const;
const EMAIL_HEADER_RE = /e-?mail/i;
const OTHER_ADDRESS_HEADER_RE = /^(mail|address|recipients?|to)$/i;
const ANGLE_RE = /<([^<>\s]+)>/g;
/** A cell that is just one plain token (the common case) needs no further splitting. */
const SIMPLE_RE = /^[A-Za-z0-9][A-Za-z0-9._%+@-]*[A-Za-z0-9]$/;

/** Picks the delimiter that occurs most often (outside quotes) in the first rows. */
export function detectDelimiter(text: string): string {
  const sample = text.slice(0, 65_536).split(/\r\n|\n|\r/).filter((l) => l.trim() !== "").slice(0, 10);
  let best = ",";
  let bestCount = 0;
  for (const d of DELIMITERS) {
    let count = 0;
    for (const line of sample) {
      let inQuotes = false;
      for (const ch of line) {
        if (ch === '"') inQuotes = !inQuotes;
        else if (ch === d && !inQuotes) count++;
      }
    }
    if (count > bestCount) {
      best = d;
      bestCount = count;
    }
  }
  return best;
}

/**
 * RFC 4180-style CSV reader: quoted fields may hold delimiters, newlines and
 * doubled quotes; CRLF, LF and CR line ends; a leading BOM is ignored.
 * Each row carries the (1-based) line it starts on; blank rows are dropped.
 */
export function parseCsv(text: string, delimiter = detectDelimiter(text)): Row[] {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const n = src.length;
  const endRe = new RegExp(`[${delimiter.replace(/[\\\]^-]/g, "\\$&")}\\r\\n]`, "g");
  const rows: Row[] = [];
  let cells: string[] = [];
  let line = 1;
  let rowLine = 1;
  let i = 0;

  for (;;) {
    // Start of a field: a quote (after optional blanks) opens a quoted field.
    let j = i;
    while (j < n && (src[j] === " " || (src[j] === "\t" && delimiter !== "\t"))) j++;
    let value: string;
    let k: number;
    if (j < n && src[j] === '"') {
      let buf = "";
      let p = j + 1;
      for (;;) {
        const q = src.indexOf('"', p);
        if (q === -1) {
          buf += src.slice(p);
          p = n;
          break;
        }
        buf += src.slice(p, q);
        if (src[q + 1] === '"') {
          buf += '"';
          p = q + 2;
          continue;
        }
        p = q + 1;
        break;
      }
      line += countLineBreaks(buf);
      endRe.lastIndex = p;
      const m = endRe.exec(src);
      k = m ? m.index : n;
      value = buf + src.slice(p, k);
    } else {
      endRe.lastIndex = i;
      const m = endRe.exec(src);
      k = m ? m.index : n;
      value = src.slice(i, k);
    }
    cells.push(value);
    if (k >= n) {
      rows.push({ line: rowLine, cells });
      break;
    }
    if (src[k] === delimiter) {
      i = k + 1;
      continue;
    }
    rows.push({ line: rowLine, cells });
    cells = [];
    i = src[k] === "\r" && src[k + 1] === "\n" ? k + 2 : k + 1;
    line++;
    rowLine = line;
    if (i >= n) break;
  }
  return rows.filter((r) => r.cells.some((c) => c.trim() !== ""));
}

function countLineBreaks(s: string): number {
  let count = 0;
  for (let i = s.indexOf("\n"); i !== -1; i = s.indexOf("\n", i + 1)) count++;
  for (let i = s.indexOf("\r"); i !== -1; i = s.indexOf("\r", i + 1)) if (s[i + 1] !== "\n") count++;
  return count;
}

/** Pulls candidate addresses out of one cell: `a@x.com`, `Name <a@x.com>`, `mailto:a@x.com`, `a@x.com b@y.com`. */
export function extractCandidates(cell: string): string[] {
  const text = cell.trim();
  if (text === "") return [];
  if (SIMPLE_RE.test(text)) return [text];
  const angled = [...text.matchAll(ANGLE_RE)].map((m) => m[1]);
  if (angled.length > 0) return angled.map(cleanAddress);
  return text
    .split(/[\s,;]+/)
    .map(cleanAddress)
    .filter((t) => t !== "");
}

function cleanAddress(token: string): string {
  return token
    .trim()
    .replace(/^mailto:/i, "")
    .replace(/^["'(\[]+|["')\].]+$/g, "")
    .trim();
}

function findEmailColumn(header: string[]): number | null {
  const idx = header.findIndex((h) => EMAIL_HEADER_RE.test(h));
  if (idx >= 0) return idx;
  const other = header.findIndex((h) => OTHER_ADDRESS_HEADER_RE.test(h));
  return other >= 0 ? other : null;
}

/** A first row with no address, of several columns or naming an address column. */
function looksLikeHeader(cells: string[]): boolean {
  if (cells.some((c) => c.includes("@"))) return false;
  if (!cells.some((c) => /[A-Za-z]/.test(c))) return false;
  return cells.length > 1 || findEmailColumn(cells.map((c) => c.trim())) !== null;
}

/**
 * Parses pasted text or an uploaded CSV / text file into recipients.
 *
 * - One address per line, or several separated by commas, semicolons or spaces.
 * - CSV with a header: addresses come from the column named email / e-mail /
 *   email address / mail / recipient; other columns are ignored.
 * - CSV without one: every cell containing an `@` is taken.
 * - Duplicates (case-insensitive) are removed, keeping the first; lines
 *   starting with `#` are comments; blank lines are skipped.
 */
export function parseRecipients(text: string): ParsedRecipients {
  const rows = parseCsv(text).filter((r) => !r.cells[0]?.trimStart().startsWith("#"));
  const result: ParsedRecipients = {
    valid: [],
    duplicates: [],
    invalid: [],
    header: null,
    emailColumn: null,
  };
  if (rows.length === 0) return result;

  let start = 0;
  if (looksLikeHeader(rows[0].cells)) {
    result.header = rows[0].cells.map((c) => c.trim());
    result.emailColumn = findEmailColumn(result.header);
    start = 1;
  }

  const seen = new Map<string, number>();
  const accept = (address: string, line: number) => {
    const key = emailKey(address);
    const first = seen.get(key);
    if (first !== undefined) {
      result.duplicates.push({ line, email: address, firstLine: first });
      return;
    }
    seen.set(key, line);
    result.valid.push(address);
  };

  for (let r = start; r < rows.length; r++) {
    const { line, cells } = rows[r];
    const source =
      result.emailColumn !== null ? [cells[result.emailColumn] ?? ""] : cells.filter((c) => c.includes("@"));
    const candidates = source.flatMap(extractCandidates);
    if (candidates.length === 0) {
      result.invalid.push({
        line,
        text: cells.map((c) => c.trim()).join(", "),
        reason: result.emailColumn !== null ? "No address in the email column" : "No email address found",
      });
      continue;
    }
    for (const c of candidates) {
      if (isValidEmail(c)) accept(c, line);
      else result.invalid.push({ line, text: c, reason: "Not a valid email address" });
    }
  }
  return result;
}

/** Text files accepted by the recipients upload. */
export const RECIPIENT_FILE_ACCEPT = ".csv,.txt,.tsv,text/csv,text/plain,text/tab-separated-values";
