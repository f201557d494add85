/** Pure helpers of the Inbox page: status labels, remote images, keyboard shortcuts. */
import type { LeadStatus } from "../api/types";

export const LEAD_STATUS_LABELS: Record<LeadStatus, string> = {
  new: "New",
  replied: "Replied",
  interested: "Interested",
  not_interested: "Not interested",
  meeting_booked: "Meeting booked",
  out_of_office: "Out of office",
  wrong_person: "Wrong person",
  unsubscribed: "Unsubscribed",
  bounced: "Bounced",
  closed: "Closed",
};

/** The statuses a person picks from the chips (the poller sets the others). */
export const CHIP_STATUSES: readonly LeadStatus[] = [
  "interested",
  "meeting_booked",
  "not_interested",
  "wrong_person",
  "closed",
];

/** The server moves remote image URLs to `data-remote-src` (tracking pixels); on request, back. */
export function withRemoteImages(html: string): string {
  return html.replace(/\sdata-remote-src="/g, ' src="');
}

export function hasRemoteImages(html: string | null): boolean {
  return !!html && html.includes("data-remote-src=");
}

/**
 * The sanitised HTML in a document for a sandboxed iframe (no scripts allowed there
 * either): a strict CSP that lets images load only once the user asked for them.
 */
export function messageDocument(html: string, loadImages: boolean): string {
  const img = loadImages ? "img-src data: https: http:;" : "img-src data:;";
  const csp = `default-src 'none'; style-src 'unsafe-inline'; ${img}`;
  const body = loadImages ? withRemoteImages(html) : html;
  return (
    `<!doctype html><html><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${csp}">` +
    `<base target="_blank"><style>body{font:14px/1.5 system-ui,sans-serif;margin:0;color:#111522}` +
    `img{max-width:100%}</style></head><body>${body}</body></html>`
  );
}

export type InboxKeyAction = "next" | "previous" | "reply" | "done" | null;

/** j/k move through threads, r replies, e marks done; not while typing. */
export function inboxKeyAction(key: string, target: EventTarget | null, modifiers = false): InboxKeyAction {
  if (modifiers) return null;
  const el = target as HTMLElement | null;
  const tag = el?.tagName?.toLowerCase();
  if (tag === "input" || tag === "textarea" || tag === "select" || el?.isContentEditable) return null;
  if (key === "j") return "next";
  if (key === "k") return "previous";
  if (key === "r") return "reply";
  if (key === "e") return "done";
  return null;
}
