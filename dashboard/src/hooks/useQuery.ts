import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, describeError } from "../api/client";
import { useToasts } from "../components/Toasts";

export interface QueryState<T> {
  data: T | null;
  error: unknown;
  /**
   * True while the first load for the current key runs. `data` may still hold
   * the previous key's answer (shown dimmed); skeletons are for `loading && !data`.
   */
  loading: boolean;
  /** True while a background refresh runs. */
  refreshing: boolean;
  reload: () => void;
}

/**
 * Loads data for `key`; reloads silently whenever `tick` changes. A failure
 * raises one error toast (with Retry) per streak of failures, not one per poll.
 */
export function useQuery<T>(
  key: string,
  fetcher: (signal: AbortSignal) => Promise<T>,
  opts: { tick?: number; enabled?: boolean; errorTitle?: string } = {},
): QueryState<T> {
  const { tick = 0, enabled = true, errorTitle = "Couldn't load data" } = opts;
  const toasts = useToasts();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(enabled);
  const [refreshing, setRefreshing] = useState(false);
  const [manual, setManual] = useState(0);
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;
  const keyRef = useRef<string | null>(null);
  const failing = useRef(false);
  const reload = useCallback(() => setManual((m) => m + 1), []);

  useEffect(() => {
    if (!enabled) return;
    const ctrl = new AbortController();
    const keyChanged = keyRef.current !== key;
    keyRef.current = key;
    if (keyChanged) {
      failing.current = false;
      setLoading(true);
      setError(null);
    } else {
      setRefreshing(true);
    }
    fetcherRef
      .current(ctrl.signal)
      .then((d) => {
        if (ctrl.signal.aborted) return;
        setData(d);
        setError(null);
        if (failing.current) toasts.dismissKey(`query:${key}`);
        failing.current = false;
      })
      .catch((e: unknown) => {
        if (ctrl.signal.aborted || (e instanceof DOMException && e.name === "AbortError")) return;
        setError(e);
        if (e instanceof ApiError && e.status === 401) return; // the session ends; no toast
        if (!failing.current) {
          failing.current = true;
          toasts.push({
            kind: "error",
            key: `query:${key}`,
            title: errorTitle,
            message: describeError(e),
            timeout: 0,
            action: { label: "Retry", onClick: () => setManual((m) => m + 1) },
          });
        }
      })
      .finally(() => {
        if (ctrl.signal.aborted) return;
        setLoading(false);
        setRefreshing(false);
      });
    return () => ctrl.abort();
  }, [key, tick, manual, enabled, errorTitle, toasts]);

  useEffect(() => () => toasts.dismissKey(`query:${key}`), [key, toasts]);

  return { data, error, loading, refreshing, reload };
}
