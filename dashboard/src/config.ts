/**
 * Where the API lives, resolved in this order:
 *  1. `window.__EMAILSCHED_CONFIG__.apiBaseUrl`, set at run time by `config.js`
 *     (index.html loads it before the app; the server may serve it, a 404 is fine);
 *  2. `VITE_API_BASE_URL` at build time (`VITE_API_BASE_URL=https://x.execute-api... npm run build`);
 *  3. the page's own origin ("").
 */
export interface RuntimeConfig {
  apiBaseUrl?: string;
  /** Overrides the Google client id reported by `/auth/config`. */
  googleClientId?: string;
  /** Refresh interval while something is pending (ms). */
  pollIntervalMs?: number;
}

declare global {
  interface Window {
    __EMAILSCHED_CONFIG__?: RuntimeConfig;
  }
}

export function runtimeConfig(): RuntimeConfig {
  if (typeof window === "undefined") return {};
  const c = window.__EMAILSCHED_CONFIG__;
  return c && typeof c === "object" ? c : {};
}

export function normalizeBaseUrl(url: string | undefined | null): string {
  return (url ?? "").trim().replace(/\/+$/, "");
}

export function resolveApiBaseUrl(
  runtime: RuntimeConfig = runtimeConfig(),
  buildTime: string | undefined = import.meta.env.VITE_API_BASE_URL,
): string {
  if (typeof runtime.apiBaseUrl === "string" && runtime.apiBaseUrl.trim() !== "") {
    return normalizeBaseUrl(runtime.apiBaseUrl);
  }
  if (typeof buildTime === "string" && buildTime.trim() !== "") return normalizeBaseUrl(buildTime);
  return "";
}

export function configuredGoogleClientId(): string | null {
  const c = runtimeConfig().googleClientId || import.meta.env.VITE_GOOGLE_CLIENT_ID;
  return c && c.trim() ? c.trim() : null;
}

export function pollIntervalMs(): number {
  const v = runtimeConfig().pollIntervalMs;
  return typeof v === "number" && v >= 500 ? v : 4000;
}
