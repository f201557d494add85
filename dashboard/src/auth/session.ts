import type { User } from "../api/types";

const TOKEN_KEY = "emailsched.token";
const USER_KEY = "emailsched.user";

export interface StoredSession {
  token: string;
  user: User;
}

function b64urlDecode(s: string): string {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(s.length / 4) * 4, "=");
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** The `exp` claim of a JWT in epoch ms, or null when absent or unreadable. No signature check. */
export function tokenExpiry(token: string): number | null {
  const parts = token.split(".");
  if (parts.length < 2) return null;
  try {
    const payload = JSON.parse(b64urlDecode(parts[1])) as { exp?: unknown };
    return typeof payload.exp === "number" ? payload.exp * 1000 : null;
  } catch {
    return null;
  }
}

export function isExpired(token: string, now = Date.now()): boolean {
  const exp = tokenExpiry(token);
  return exp !== null && exp <= now;
}

function storage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null;
  }
}

export function loadSession(): StoredSession | null {
  const s = storage();
  if (!s) return null;
  const token = s.getItem(TOKEN_KEY);
  const userJson = s.getItem(USER_KEY);
  if (!token || !userJson) return null;
  if (isExpired(token)) {
    clearSession();
    return null;
  }
  try {
    const user = JSON.parse(userJson) as User;
    if (!user || typeof user.email !== "string") return null;
    return { token, user };
  } catch {
    return null;
  }
}

export function saveSession(session: StoredSession): void {
  const s = storage();
  if (!s) return;
  s.setItem(TOKEN_KEY, session.token);
  s.setItem(USER_KEY, JSON.stringify(session.user));
}

export function saveUser(user: User): void {
  storage()?.setItem(USER_KEY, JSON.stringify(user));
}

export function clearSession(): void {
  const s = storage();
  if (!s) return;
  s.removeItem(TOKEN_KEY);
  s.removeItem(USER_KEY);
}

/** "Ada Lovelace" → "AL"; falls back to the e-mail's first letter. */
export function initials(name: string | null | undefined, email: string): string {
  const words = (name ?? "").trim().split(/\s+/).filter(Boolean);
  if (words.length >= 2) return (words[0][0] + words[words.length - 1][0]).toUpperCase();
  if (words.length === 1) return words[0].slice(0, 2).toUpperCase();
  return (email.trim()[0] ?? "?").toUpperCase();
}

export const STORAGE_KEYS = { TOKEN_KEY, USER_KEY };
