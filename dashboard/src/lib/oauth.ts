/**
 * Mailboxes connected by OAuth in the browser (issue 25): the providers' names,
 * how old a connection is, and what the API's redirect back (`#/senders?connected=`
 * or `?error=`) says.
 */
import type { OAuthProvider, SenderAccount } from "../api/types";

export const PROVIDER_NAMES: Record<OAuthProvider, string> = { google: "Google", microsoft: "Microsoft" };

export function isOAuthSender(s: SenderAccount): boolean {
  return s.kind === "google" || s.kind === "microsoft";
}

/** "connected 3 days ago": the connection's age in the largest whole unit. */
export function connectionAge(connectedAt: string, now: number): string {
  const seconds = Math.max(0, Math.floor((now - Date.parse(connectedAt)) / 1000));
  const units: [number, string][] = [
    [86_400, "day"],
    [3_600, "hour"],
    [60, "minute"],
  ];
  for (const [size, name] of units) {
    const n = Math.floor(seconds / size);
    if (n >= 1) return `connected ${n} ${name}${n === 1 ? "" : "s"} ago`;
  }
  return "connected just now";
}

/** A failing OAuth sender needs the consent again (its grant was revoked). */
export function needsReconnect(s: SenderAccount): boolean {
  return isOAuthSender(s) && s.status === "failing";
}

export type OAuthReturn = { kind: "connected"; senderId: string } | { kind: "error"; message: string } | null;

/** What the redirect back from a consent says, read from the route's query. */
export function oauthReturn(params: URLSearchParams): OAuthReturn {
  const connected = params.get("connected");
  if (connected) return { kind: "connected", senderId: connected };
  const error = params.get("error");
  if (error) return { kind: "error", message: error };
  return null;
}
