import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { ApiError, describeError } from "../api/client";
import type { AuthConfig } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { loadGoogleIdentity } from "../auth/google";
import { configuredGoogleClientId } from "../config";
import { isValidEmail } from "../lib/email";
import { Logo } from "./Logo";
import { Spinner } from "./Skeleton";

export function SignInPage() {
  const { api } = useAuth();
  const [config, setConfig] = useState<AuthConfig | null>(null);
  const [configError, setConfigError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const ctrl = new AbortController();
    setConfigError(null);
    api
      .authConfig(ctrl.signal)
      .then((c) => setConfig(c))
      .catch((e: unknown) => {
        if (!ctrl.signal.aborted) setConfigError(e);
      });
    return () => ctrl.abort();
  }, [api, attempt]);

  const googleClientId = config ? configuredGoogleClientId() ?? config.googleClientId : null;

  return (
    <main className="signin-page">
      <section className="signin-card" aria-labelledby="signin-title">
        <div className="signin-brand">
          <Logo size={40} />
          <span className="brand-name">emailsched</span>
        </div>
        <h1 id="signin-title">Sign in</h1>
        <p className="muted">Schedule campaigns, respect sending limits, and watch every email go out.</p>

        {!config && !configError && (
          <div className="signin-loading" role="status" aria-live="polite">
            <Spinner /> Loading sign-in options…
          </div>
        )}

        {configError != null && (
          <div className="callout callout-error" role="alert">
            <p>
              <strong>Can't reach the emailsched API.</strong> {describeError(configError)}
            </p>
            <button type="button" className="btn btn-secondary" onClick={() => setAttempt((a) => a + 1)}>
              Try again
            </button>
          </div>
        )}

        {config && (
          <div className="signin-methods">
            {googleClientId && <GoogleSignIn clientId={googleClientId} />}
            {googleClientId && config.authMode === "dev" && (
              <div className="divider" role="separator">
                <span>or use a development account</span>
              </div>
            )}
            {config.authMode === "dev" && <DevSignIn />}
            {config.authMode !== "dev" && !googleClientId && (
              <div className="callout callout-warning" role="alert" data-testid="signin-unconfigured">
                Sign-in isn't configured on this server. Set <code>GOOGLE_CLIENT_ID</code> (or run with{" "}
                <code>AUTH_MODE=dev</code> for local use).
              </div>
            )}
          </div>
        )}
      </section>
      <p className="signin-footnote muted">Times are shown in your time zone.</p>
    </main>
  );
}

function DevSignIn() {
  const { api, signIn } = useAuth();
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [emailError, setEmailError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const trimmed = email.trim();
    if (!isValidEmail(trimmed)) {
      setEmailError("Enter a valid email address");
      return;
    }
    setEmailError(null);
    setBusy(true);
    try {
      signIn(await api.devLogin(trimmed, name.trim() || undefined));
    } catch (err) {
      if (err instanceof ApiError) {
        const fieldErr = err.details.find((d) => d.field === "email");
        if (fieldErr) setEmailError(fieldErr.message);
        else setError(describeError(err));
      } else setError(describeError(err));
      setBusy(false);
    }
  };

  return (
    <form className="form" onSubmit={submit} noValidate aria-label="Development sign-in" data-testid="dev-signin-form">
      <div className="field">
        <label htmlFor="dev-email">Email</label>
        <input
          id="dev-email"
          name="email"
          type="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          aria-invalid={emailError ? true : undefined}
          aria-describedby={emailError ? "dev-email-error" : undefined}
          data-testid="signin-email"
          placeholder="you@company.com"
          autoFocus
        />
        {emailError && (
          <p className="field-error" id="dev-email-error">
            {emailError}
          </p>
        )}
      </div>
      <div className="field">
        <label htmlFor="dev-name">
          Name <span className="optional">(optional)</span>
        </label>
        <input
          id="dev-name"
          name="name"
          autoComplete="name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          data-testid="signin-name"
          placeholder="Ada Lovelace"
        />
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" className="btn btn-primary btn-block" disabled={busy} data-testid="signin-submit">
        {busy ? <Spinner /> : null}
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}

function GoogleSignIn({ clientId }: { clientId: string }) {
  const { api, signIn } = useAuth();
  const holder = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<"loading" | "ready" | "failed" | "signing">("loading");
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  const onCredential = useCallback(
    async (credential: string) => {
      setState("signing");
      setError(null);
      try {
        signIn(await api.googleLogin(credential));
      } catch (err) {
        setError(describeError(err));
        setState("ready");
      }
    },
    [api, signIn],
  );

  useEffect(() => {
    let cancelled = false;
    setState("loading");
    loadGoogleIdentity()
      .then((gis) => {
        if (cancelled || !holder.current) return;
        gis.initialize({
          client_id: clientId,
          callback: (r) => void onCredential(r.credential),
          cancel_on_tap_outside: true,
        });
        holder.current.innerHTML = "";
        gis.renderButton(holder.current, {
          type: "standard",
          theme: "outline",
          size: "large",
          text: "signin_with",
          shape: "rectangular",
          logo_alignment: "left",
          width: 320,
        });
        setState("ready");
      })
      .catch(() => {
        if (!cancelled) setState("failed");
      });
    return () => {
      cancelled = true;
    };
  }, [clientId, onCredential, attempt]);

  return (
    <div className="google-signin" data-testid="google-signin">
      <div ref={holder} className="google-button-holder" aria-label="Sign in with Google" hidden={state === "failed"} />
      {state === "loading" && (
        <div className="signin-loading" role="status">
          <Spinner /> Loading Sign in with Google…
        </div>
      )}
      {state === "signing" && (
        <div className="signin-loading" role="status">
          <Spinner /> Signing in…
        </div>
      )}
      {state === "failed" && (
        <div className="callout callout-warning" role="alert" data-testid="google-signin-unavailable">
          <p>
            <strong>Sign in with Google is unavailable.</strong> Google's sign-in script could not be loaded (are you
            offline, or is accounts.google.com blocked?).
          </p>
          <button type="button" className="btn btn-secondary" onClick={() => setAttempt((a) => a + 1)}>
            Try again
          </button>
        </div>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
