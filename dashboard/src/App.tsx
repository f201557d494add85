import { useEffect, useState } from "react";
import type { AuthConfig } from "./api/types";
import { AuthProvider, useAuth } from "./auth/AuthContext";
import { Dashboard } from "./components/Dashboard";
import { SignInPage } from "./components/SignIn";
import { ToastProvider } from "./components/Toasts";

function Root() {
  const { user, token, api } = useAuth();
  const [authConfig, setAuthConfig] = useState<AuthConfig | null>(null);

  // Optional server hints for the finish estimate (min gap, window length).
  useEffect(() => {
    if (!token) return;
    const ctrl = new AbortController();
    api
      .authConfig(ctrl.signal)
      .then(setAuthConfig)
      .catch(() => {});
    return () => ctrl.abort();
  }, [api, token]);

  if (!user || !token) return <SignInPage />;
  return <Dashboard key={user.id ?? user.email} authConfig={authConfig} />;
}

export function App() {
  return (
    <ToastProvider>
      <AuthProvider>
        <Root />
      </AuthProvider>
    </ToastProvider>
  );
}
