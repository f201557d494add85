/**
 * Merge fields in the browser (issue 14): inserting `{{ field }}` at the cursor,
 * and a preview of simple templates. The preview is an approximation for one
 * recipient: only `{{ name }}` and `{{ name | default("x") }}` are rendered, values
 * HTML-escaped in the body. The server renders the real email (Jinja2, sandboxed).
 */

export interface Insertion {
  value: string;
  /** Where the cursor goes after the inserted text. */
  cursor: number;
}

/** The template text for a field. */
export function fieldToken(key: string): string {
  return `{{ ${key} }}`;
}

/**
 * Replaces the selection [start, end) of `value` by `text` (a missing selection
 * appends), with a space added where the token would touch a word.
 */
export function insertAtCursor(value: string, start: number | null, end: number | null, text: string): Insertion {
  const s = clamp(start ?? value.length, value.length);
  const e = Math.max(s, clamp(end ?? s, value.length));
  const before = value.slice(0, s);
  const after = value.slice(e);
  const lead = before && /[\w}]$/.test(before) ? " " : "";
  const trail = after && /^[\w{]/.test(after) ? " " : "";
  const inserted = lead + text + trail;
  return { value: before + inserted + after, cursor: before.length + lead.length + text.length };
}

function clamp(n: number, max: number): number {
  return Math.min(Math.max(0, n), max);
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

// {{ name }} or {{ name | default("x") }} / default('x')
const TAG_RE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|\s*default\s*\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)\s*)?\}\}/g;

export interface Preview {
  text: string;
  /** Fields used without a default that this recipient lacks (the server refuses these). */
  missing: string[];
}

export interface PreviewOptions {
  /** Escape the values (the HTML body); the subject is plain. */
  html: boolean;
  /** Shown for `{{ unsubscribe_url }}`. */
  unsubscribeUrl?: string;
}

/** Renders the simple tags of `template` for one recipient; other `{{ … }}` stay as written. */
export function renderPreview(template: string, vars: Record<string, string>, opts: PreviewOptions): Preview {
  const missing = new Set<string>();
  const all: Record<string, string> = { unsubscribe_url: opts.unsubscribeUrl ?? "#unsubscribe", ...vars };
  const text = template.replace(TAG_RE, (_m, name: string, dq?: string, sq?: string) => {
    const fallback = dq ?? sq;
    const v = all[name];
    let out: string;
    // Like Jinja2's default(): only a field the recipient lacks takes the default.
    if (v !== undefined) out = v;
    else if (fallback !== undefined) out = fallback.replace(/\\(.)/g, "$1");
    else {
      missing.add(name);
      out = "";
    }
    return opts.html ? escapeHtml(out) : out;
  });
  return { text, missing: [...missing] };
}

/** Field names a template uses (simple tags only). */
export function usedFields(template: string): string[] {
  return [...new Set([...template.matchAll(TAG_RE)].map((m) => m[1]))];
}
