import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";

export type ToastKind = "success" | "error" | "info";

export interface ToastInput {
  kind?: ToastKind;
  title: string;
  message?: string;
  action?: { label: string; onClick: () => void };
  /** ms before it goes away; 0 keeps it until dismissed. */
  timeout?: number;
  /** A toast with the same key replaces the previous one instead of stacking. */
  key?: string;
}

interface Toast extends Required<Pick<ToastInput, "kind" | "title" | "timeout">> {
  id: number;
  message?: string;
  action?: ToastInput["action"];
  key?: string;
}

interface ToastApi {
  push: (t: ToastInput) => number;
  dismiss: (id: number) => void;
  dismissKey: (key: string) => void;
}

const ToastContext = createContext<ToastApi | null>(null);

export function useToasts(): ToastApi {
  const ctx = useContext(ToastContext);
  if (!ctx) throw new Error("useToasts outside ToastProvider");
  return ctx;
}

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const nextId = useRef(1);

  const dismiss = useCallback((id: number) => setToasts((ts) => ts.filter((t) => t.id !== id)), []);
  const dismissKey = useCallback((key: string) => setToasts((ts) => ts.filter((t) => t.key !== key)), []);
  const push = useCallback((input: ToastInput) => {
    const id = nextId.current++;
    const kind = input.kind ?? "info";
    const toast: Toast = {
      id,
      kind,
      title: input.title,
      message: input.message,
      action: input.action,
      key: input.key,
      timeout: input.timeout ?? (kind === "error" ? 10_000 : 5_000),
    };
    setToasts((ts) => [...ts.filter((t) => !input.key || t.key !== input.key), toast].slice(-5));
    return id;
  }, []);

  const api = useMemo(() => ({ push, dismiss, dismissKey }), [push, dismiss, dismissKey]);

  return (
    <ToastContext.Provider value={api}>
      {children}
      <div className="toasts" aria-live="polite" aria-relevant="additions" data-testid="toasts">
        {toasts.map((t) => (
          <ToastView key={t.id} toast={t} onDismiss={() => dismiss(t.id)} />
        ))}
      </div>
    </ToastContext.Provider>
  );
}

function ToastView({ toast, onDismiss }: { toast: Toast; onDismiss: () => void }) {
  const [hover, setHover] = useState(false);
  useEffect(() => {
    if (!toast.timeout || hover) return;
    const t = window.setTimeout(onDismiss, toast.timeout);
    return () => window.clearTimeout(t);
  }, [toast.timeout, hover, onDismiss]);

  return (
    <div
      className={`toast toast-${toast.kind}`}
      role={toast.kind === "error" ? "alert" : "status"}
      data-testid={`toast-${toast.kind}`}
      onMouseEnter={() => setHover(true)}
      onMouseLeave={() => setHover(false)}
      onFocus={() => setHover(true)}
      onBlur={() => setHover(false)}
    >
      <span className="toast-icon" aria-hidden="true">
        {toast.kind === "success" ? "✓" : toast.kind === "error" ? "!" : "i"}
      </span>
      <div className="toast-body">
        <div className="toast-title">{toast.title}</div>
        {toast.message && <div className="toast-message">{toast.message}</div>}
      </div>
      {toast.action && (
        <button
          type="button"
          className="btn btn-sm btn-ghost toast-action"
          onClick={() => {
            toast.action?.onClick();
            onDismiss();
          }}
        >
          {toast.action.label}
        </button>
      )}
      <button type="button" className="icon-btn toast-close" aria-label="Dismiss notification" onClick={onDismiss}>
        ×
      </button>
    </div>
  );
}
