import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { ApiClient } from "../api/client";
import type { LoginResponse, User } from "../api/types";
import { useToasts } from "../components/Toasts";
import { clearSession, loadSession, saveSession, saveUser, tokenExpiry } from "./session";

export type SignOutReason = "logout" | "expired" | "unauthorized";

interface AuthState {
  user: User | null;
  token: string | null;
}

interface AuthApi extends AuthState {
  api: ApiClient;
  signIn: (res: LoginResponse) => void;
  signOut: (reason?: SignOutReason) => void;
}

const AuthContext = createContext<AuthApi | null>(null);

export function useAuth(): AuthApi {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error("useAuth outside AuthProvider");
  return ctx;
}

/** setTimeout cannot wait longer than ~24.8 days. */
const MAX_TIMER = 2_147_000_000;

export function AuthProvider({ children }: { children: ReactNode }) {
  const toasts = useToasts();
  const [state, setState] = useState<AuthState>(() => {
    const s = loadSession();
    return s ? { user: s.user, token: s.token } : { user: null, token: null };
  });
  const tokenRef = useRef(state.token);
  tokenRef.current = state.token;

  const signOut = useCallback(
    (reason: SignOutReason = "logout") => {
      if (!tokenRef.current) return;
      tokenRef.current = null;
      clearSession();
      setState({ user: null, token: null });
      if (reason === "expired" || reason === "unauthorized") {
        toasts.push({
          kind: "info",
          key: "session",
          title: "Your session has ended",
          message: "Please sign in again.",
        });
      }
    },
    [toasts],
  );

  const signOutRef = useRef(signOut);
  signOutRef.current = signOut;

  const api = useMemo(
    () =>
      new ApiClient({
        getToken: () => tokenRef.current,
        onUnauthorized: () => signOutRef.current("unauthorized"),
      }),
    [],
  );

  const signIn = useCallback((res: LoginResponse) => {
    saveSession({ token: res.token, user: res.user });
    tokenRef.current = res.token;
    setState({ token: res.token, user: res.user });
  }, []);

  // End the session when the token expires.
  useEffect(() => {
    if (!state.token) return;
    const exp = tokenExpiry(state.token);
    if (exp === null) return;
    const wait = exp - Date.now();
    if (wait <= 0) {
      signOut("expired");
      return;
    }
    const t = window.setTimeout(() => signOut("expired"), Math.min(wait, MAX_TIMER));
    return () => window.clearTimeout(t);
  }, [state.token, signOut]);

  // Confirm a restored session with the server (a 401 signs out via the client).
  useEffect(() => {
    if (!state.token) return;
    const ctrl = new AbortController();
    api
      .me(ctrl.signal)
      .then(({ user }) => {
        if (ctrl.signal.aborted || !user) return;
        saveUser(user);
        setState((s) => (s.token ? { ...s, user } : s));
      })
      .catch(() => {
        /* offline or aborted: keep the stored session; 401 is handled by the client */
      });
    return () => ctrl.abort();
    // Only when the token changes (sign-in or restore).
  }, [state.token, api]);

  // Logging out in another tab logs out here too.
  useEffect(() => {
    const onStorage = (e: StorageEvent) => {
      if (e.key === "emailsched.token" && !e.newValue && tokenRef.current) {
        tokenRef.current = null;
        setState({ user: null, token: null });
      }
    };
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }, []);

  const value = useMemo<AuthApi>(() => ({ ...state, api, signIn, signOut }), [state, api, signIn, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
