import { useEffect, useState } from "react";

/**
 * The current time, re-rendering every `intervalMs` (for relative-time hints), and at
 * once whenever `refreshKey` changes: pass the data refresh counter so that freshly
 * loaded times are never compared with a clock up to `intervalMs` old ("sent in 10 s").
 */
export function useNow(intervalMs = 30_000, refreshKey?: unknown): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(t);
  }, [intervalMs]);
  useEffect(() => {
    if (refreshKey !== undefined) setNow(Date.now());
  }, [refreshKey]);
  return now;
}
