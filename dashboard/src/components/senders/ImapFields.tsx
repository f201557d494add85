/**
 * The sender form's IMAP block (issue 30): where replies and bounces are read, as the API
 * takes it (`imap`). Folded away until opened; a blank host means no reply detection.
 *
 * data-testid: sender-imap (the block), sender-imap-host, sender-imap-port,
 * sender-imap-security, sender-imap-username, sender-imap-password
 */
import type { SmtpSecurity } from "../../api/types";
import { IMAP_PORTS, type SenderDraft, type SenderErrors, type SenderField } from "../../lib/senders";
import { Field } from "../compose/Field";

interface Props {
  draft: SenderDraft;
  errors: SenderErrors;
  set: (f: SenderField, v: string) => void;
  mode: "create" | "edit";
}

export function ImapFields({ draft, errors, set, mode }: Props) {
  const open = !!draft.imapHost || Object.keys(errors).some((f) => f.startsWith("imap"));
  const setSecurity = (v: SmtpSecurity) => {
    set("imapSecurity", v);
    set("imapPort", String(IMAP_PORTS[v]));
  };
  return (
    <details className="form-section imap-fields" open={open} data-testid="sender-imap">
      <summary>Reply detection (IMAP, optional)</summary>
      <p className="hint">Replies and bounces are read from this mailbox; follow-ups stop for whoever replied.</p>
      <div className="grid-3">
        <Input f="imapHost" label="IMAP host" {...{ draft, errors, set }} />
        <Input f="imapPort" label="Port" type="number" {...{ draft, errors, set }} />
        <Field id="sender-f-imapSecurity" label="Security">
          {(control) => (
            <select {...control} value={draft.imapSecurity} onChange={(e) => setSecurity(e.target.value as SmtpSecurity)} data-testid="sender-imap-security">
              <option value="tls">TLS (993)</option>
              <option value="starttls">STARTTLS (143)</option>
              <option value="none">None (143)</option>
            </select>
          )}
        </Field>
      </div>
      <div className="grid-2">
        <Input f="imapUsername" label="IMAP login" {...{ draft, errors, set }} />
        <Input
          f="imapPassword"
          label="IMAP password"
          type="password"
          hint={mode === "edit" ? "Type it to change the IMAP server; it is tested again." : "Stored encrypted; never shown again."}
          {...{ draft, errors, set }}
        />
      </div>
    </details>
  );
}

function Input({ f, label, hint, type = "text", draft, errors, set }: Omit<Props, "mode"> & { f: SenderField; label: string; hint?: string; type?: string }) {
  const testId = `sender-${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  return (
    <Field id={`sender-f-${f}`} label={label} hint={hint} error={errors[f] ? [errors[f]!] : undefined} errorTestId={`sender-error-${f}`}>
      {(control) => (
        <input
          {...control}
          type={type}
          value={draft[f]}
          autoComplete={type === "password" ? "new-password" : "off"}
          onChange={(e) => set(f, e.target.value)}
          data-testid={testId}
        />
      )}
    </Field>
  );
}
