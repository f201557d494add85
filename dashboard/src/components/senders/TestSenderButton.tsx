/**
 * `emailsched dev` only: the capture inbox as a sender in one click. It takes mail without
 * a login, which the Add a sender form requires, so it gets a button of its own; the
 * server still tests it before storing it. Hidden once a sender uses that server.
 *
 * data-testid: senders-add-test (the button), senders-add-test-error (why it failed)
 */
import { useState } from "react";
import type { SenderAccount } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { rejectionText } from "./SenderForm";

export interface CaptureSmtp {
  host: string;
  port: number;
}

export function TestSenderButton({ smtp, senders, onAdded }: { smtp: CaptureSmtp; senders: SenderAccount[] | null; onAdded: (s: SenderAccount) => void }) {
  const { api, user } = useAuth();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!user || senders === null || senders.some((s) => s.smtp?.host === smtp.host && s.smtp.port === smtp.port)) return null;
  const add = async () => {
    setBusy(true);
    setError(null);
    try {
      const input = { host: smtp.host, port: smtp.port, security: "none" as const, username: "", password: "" };
      onAdded(await api.createSender({ email: user.email, name: `${user.name || user.email.split("@")[0]} (test)`, smtp: input }));
    } catch (err) {
      setError(rejectionText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" className="btn btn-secondary" onClick={() => void add()} disabled={busy} data-testid="senders-add-test" title={`Sends to the capture inbox at ${smtp.host}:${smtp.port}`}>
        Add a test sender (capture inbox)
      </button>
      {error && <p className="field-error" role="alert" data-testid="senders-add-test-error">{error}</p>}
    </>
  );
}
