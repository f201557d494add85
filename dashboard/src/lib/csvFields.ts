/**
 * Recipient lists that keep every column (issue 14): parsed with papaparse
 * (quoted commas, newlines in quotes, a BOM, `,` `;` or tab separators, Excel
 * exports), the address column found by name, the others kept as merge fields.
 * Addresses, duplicates and invalid lines are still counted by `parseRecipients`;
 * this only adds the fields of each valid address.
 */
import Papa from "papaparse";
import type { Recipient } from "../api/types";
import { emailKey, isValidEmail } from "./email";
import { extractCandidates } from "./recipients";

export interface CsvColumn {
  /** The header as written in the file. */
  header: string;
  /** The merge-field name: `{{ key }}` (see fieldKey). */
  key: string;
}

export interface CsvTable {
  /** Columns other than the address, in file order. */
  columns: CsvColumn[];
  /** The address column's header, or null when the text has no header row. */
  emailHeader: string | null;
  /** Fields by address (emailKey), first row of an address wins. */
  fieldsByEmail: Map<string, Record<string, string>>;
}

const EMPTY: CsvTable = { columns: [], emailHeader: null, fieldsByEmail: new Map() };
const EMAIL_HEADER_RE = /^e-?mail(\s*address)?$|^(mail|address|recipients?|to)$/i;
const RESERVED = new Set(["email", "unsubscribe_url"]);

/** A header as a template name: `First Name` -> `first_name`, `2nd` -> `f_2nd`. */
export function fieldKey(header: string): string {
  const k = header
    .trim()
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/^_+|_+$/g, "");
  if (!k) return "field";
  return /^[0-9]/.test(k) ? `f_${k}` : k;
}

function findEmailColumn(header: string[]): number {
  const named = header.findIndex((h) => EMAIL_HEADER_RE.test(h.trim()));
  return named >= 0 ? named : header.findIndex((h) => /e-?mail/i.test(h));
}

/** Unique keys for the non-address columns (a repeated `name` becomes `name_2`). */
function columnsOf(header: string[], emailIdx: number): (CsvColumn | null)[] {
  const used = new Set<string>(RESERVED);
  return header.map((h, i) => {
    if (i === emailIdx || h.trim() === "") return null;
    let key = fieldKey(h);
    for (let n = 2; used.has(key); n++) key = `${fieldKey(h)}_${n}`;
    used.add(key);
    return { header: h.trim(), key };
  });
}

/** Parses CSV text with a header row naming an address column; anything else has no fields. */
export function parseCsvTable(text: string): CsvTable {
  if (!text.trim()) return EMPTY;
  const res = Papa.parse<string[]>(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, {
    skipEmptyLines: "greedy",
    delimitersToGuess: [",", ";", "\t", "|"],
  });
  const rows = res.data.filter((r) => !(r[0] ?? "").trimStart().startsWith("#"));
  const header = rows[0];
  if (!header || header.length < 2 || header.some((c) => c.includes("@"))) return EMPTY;
  const emailIdx = findEmailColumn(header);
  if (emailIdx < 0) return EMPTY;
  const cols = columnsOf(header, emailIdx);
  const fieldsByEmail = new Map<string, Record<string, string>>();
  for (const row of rows.slice(1)) {
    const email = extractCandidates(row[emailIdx] ?? "")[0] ?? "";
    if (!isValidEmail(email) || fieldsByEmail.has(emailKey(email))) continue;
    const fields: Record<string, string> = {};
    // An empty cell is a missing field, so `default(...)` fills it (and a field
    // used without one is refused by the server, naming the recipient).
    cols.forEach((c, i) => {
      const v = (row[i] ?? "").trim();
      if (c && v !== "") fields[c.key] = v;
    });
    fieldsByEmail.set(emailKey(email), fields);
  }
  return { columns: cols.filter((c): c is CsvColumn => c !== null), emailHeader: header[emailIdx].trim(), fieldsByEmail };
}

/** The request's recipients: `{email, fields}` where the table has fields for the address, else the address. */
export function withFields(valid: string[], table: CsvTable): Recipient[] {
  if (table.columns.length === 0) return valid;
  return valid.map((email) => {
    const fields = table.fieldsByEmail.get(emailKey(email));
    return fields ? { email, fields } : email;
  });
}

/** The address of a request recipient. */
export function recipientEmail(r: Recipient): string {
  return typeof r === "string" ? r : r.email;
}
