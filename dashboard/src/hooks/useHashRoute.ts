import { useCallback, useEffect, useState } from "react";

/**
 * The dashboard keeps its view in the URL hash (`#/scheduled?batch=…&page=2`)
 * so it never collides with the API's paths on the same origin.
 */
export const TABS = ["overview", "inbox", "scheduled", "sent", "batches", "senders", "suppressions", "settings"] as const;
export type Tab = (typeof TABS)[number];

export interface Route {
  tab: Tab;
  params: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?", 2);
  const tab = (TABS as readonly string[]).includes(path) ? (path as Tab) : "overview";
  return { tab, params: new URLSearchParams(query) };
}

export function buildHash(tab: Tab, params: Record<string, string | number | undefined | null> = {}): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") qs.set(k, String(v));
  }
  const s = qs.toString();
  return `#/${tab}${s ? `?${s}` : ""}`;
}

/** Whether `hash` names the route already shown. */
export function sameRoute(route: Route, hash: string): boolean {
  const next = parseHash(hash);
  return next.tab === route.tab && next.params.toString() === route.params.toString();
}

export function useHashRoute(): [Route, (tab: Tab, params?: Record<string, string | number | undefined | null>) => void] {
  const [route, setRoute] = useState<Route>(() => parseHash(window.location.hash));
  useEffect(() => {
    // Back/forward and typed URLs; a hash navigate() already applied leaves the route as it is.
    const onChange = () => setRoute((prev) => sameRoute(prev, window.location.hash) ? prev : parseHash(window.location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  const navigate = useCallback((tab: Tab, params: Record<string, string | number | undefined | null> = {}) => {
    const h = buildHash(tab, params);
    if (window.location.hash !== h) window.location.hash = h;
    // The view follows at once, not on the later `hashchange` task: until then the old view
    // stayed on screen and could still act (its "Rows per page" navigating back to itself).
    setRoute(parseHash(h));
  }, []);
  return [route, navigate];
}
