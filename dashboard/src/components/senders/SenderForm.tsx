/**
 * Add or edit a sender account (issue 13). Adding tests the account first:
 * POST /senders connects, says EHLO, STARTTLS/TLS, logs in and quits (nothing is
 * sent) and stores the sender only if that works; otherwise a 422
 * `sender_unverified` whose message (the server's own reply) is shown verbatim.
 * Editing patches the name and limits (and the account, when a new password is typed).
 *
 * data-testid:
 *   sender-form              the dialog (Dialog testId)
 *   sender-email, sender-name, sender-smtp-host, sender-smtp-port, sender-smtp-security,
 *   sender-smtp-username, sender-smtp-password, sender-hourly-limit, sender-daily-limit,
 *   sender-min-delay-ms, sender-timezone                         the inputs
 *   sender-ethereal          "Fill in Ethereal's server" helper button
 *   sender-test-submit       "Test connection and add" / "Save" button
 *   sender-test-result       the server's answer: data-ok="true|false", text verbatim
 *   sender-error-<field>     a field's error line
 */
import { useMemo, useState, type FormEvent } from "react";
import { ApiError, describeError, SENDER_UNVERIFIED } from "../../api/client";
import type { SenderAccount, SmtpSecurity } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { browserTimeZone, timeZoneOptions } from "../../lib/sendingWindow";
import {
  emptySenderDraft,
  ETHEREAL,
  SECURITY_PORTS,
  senderToDraft,
  toCreateSender,
  toUpdateSender,
  validateSender,
  type SenderDraft,
  type SenderErrors,
  type SenderField,
} from "../../lib/senders";
import { Field } from "../compose/Field";
import { Dialog } from "../Dialog";
import { Spinner } from "../Skeleton";
import { ImapFields } from "./ImapFields";

type Result = { ok: boolean; message: string } | null;

const SENDER_FIELDS: readonly string[] = Object.keys(emptySenderDraft("UTC"));

export function SenderForm({ sender, onClose, onSaved }: { sender: SenderAccount | null; onClose: () => void; onSaved: (s: SenderAccount) => void }) {
  const mode = sender ? "edit" : "create";
  const { draft, setField, errors, result, busy, submit } = useSenderForm(sender, onSaved);
  const editAccount = mode === "create" || sender?.kind === "smtp";
  return (
    <Dialog
      title={sender ? `Edit ${sender.email}` : "Add a sender"}
      description={sender ? "Change its name and limits." : "Connect an SMTP mailbox. It is checked before it is saved; nothing is sent."}
      onClose={onClose}
      size="lg"
      testId="sender-form"
      footer={<FormFooter mode={mode} busy={busy} onClose={onClose} />}
    >
      <form id="sender-form-el" className="form" onSubmit={submit} noValidate>
        <ResultBox result={result} />
        <div className="grid-2">
          <TextField f="email" label="From address" type="email" draft={draft} errors={errors} set={setField} disabled={mode === "edit"} />
          <TextField f="name" label="From name" draft={draft} errors={errors} set={setField} />
        </div>
        {editAccount && <SmtpFields draft={draft} errors={errors} set={setField} mode={mode} />}
        {editAccount && <ImapFields draft={draft} errors={errors} set={setField} mode={mode} />}
        <LimitFields draft={draft} errors={errors} set={setField} />
      </form>
    </Dialog>
  );
}

function useSenderForm(sender: SenderAccount | null, onSaved: (s: SenderAccount) => void) {
  const { api } = useAuth();
  const [draft, setDraft] = useState<SenderDraft>(() => (sender ? senderToDraft(sender, browserTimeZone()) : emptySenderDraft(browserTimeZone())));
  const [errors, setErrors] = useState<SenderErrors>({});
  const [result, setResult] = useState<Result>(null);
  const [busy, setBusy] = useState(false);
  const setField = (f: SenderField, v: string) => {
    setDraft((d) => ({ ...d, [f]: v }));
    if (errors[f]) setErrors((e) => ({ ...e, [f]: undefined }));
  };
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    const invalid = validateSender(draft, sender ? "edit" : "create");
    setErrors(invalid);
    if (Object.keys(invalid).length || busy) return;
    setBusy(true);
    setResult(null);
    try {
      const saved = sender ? await api.updateSender(sender.id, toUpdateSender(draft, sender)) : await api.createSender(toCreateSender(draft));
      onSaved(saved);
    } catch (err) {
      setResult({ ok: false, message: rejectionText(err) });
      if (err instanceof ApiError) setErrors(detailErrors(err));
    } finally {
      setBusy(false);
    }
  };
  return { draft, setField, errors, result, busy, submit };
}

/** The server's reply for a failed check, as it said it; anything else described. */
export function rejectionText(err: unknown): string {
  if (err instanceof ApiError && err.code === SENDER_UNVERIFIED) return err.message;
  return describeError(err);
}

function detailErrors(err: ApiError): SenderErrors {
  const out: SenderErrors = {};
  for (const d of err.details) {
    const f = imapField(d.field ?? "") ?? ((d.field ?? "").replace(/^smtp\./, "") as SenderField);
    if (SENDER_FIELDS.includes(f)) out[f] = d.message;
  }
  return out;
}

/** "imap.host" → "imapHost". */
function imapField(field: string): SenderField | null {
  const m = /^imap\.(\w)(\w*)$/.exec(field);
  return m ? (`imap${m[1].toUpperCase()}${m[2]}` as SenderField) : null;
}

function ResultBox({ result }: { result: Result }) {
  if (!result) return null;
  return (
    <div className={`callout ${result.ok ? "callout-success" : "callout-error"}`} role="alert" data-testid="sender-test-result" data-ok={String(result.ok)}>
      <strong>{result.ok ? "Connected." : "The connection test failed. The server said:"}</strong>
      <pre className="server-reply">{result.message}</pre>
    </div>
  );
}

interface FieldsProps {
  draft: SenderDraft;
  errors: SenderErrors;
  set: (f: SenderField, v: string) => void;
}

function TextField({ f, label, hint, type = "text", draft, errors, set, disabled }: FieldsProps & { f: SenderField; label: string; hint?: string; type?: string; disabled?: boolean }) {
  const testId = `sender-${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace(/^(host|port|username|password)$/, "smtp-$1")}`;
  return (
    <Field id={`sender-f-${f}`} label={label} hint={hint} error={errors[f] ? [errors[f]!] : undefined} errorTestId={`sender-error-${f}`}>
      {(control) => (
        <input
          {...control}
          type={type}
          value={draft[f]}
          disabled={disabled}
          autoComplete={type === "password" ? "new-password" : "off"}
          onChange={(e) => set(f, e.target.value)}
          data-testid={testId}
        />
      )}
    </Field>
  );
}

function SmtpFields({ draft, errors, set, mode }: FieldsProps & { mode: "create" | "edit" }) {
  const useEthereal = () => {
    set("host", ETHEREAL.host);
    set("port", String(ETHEREAL.port));
    set("security", ETHEREAL.security);
  };
  const setSecurity = (v: SmtpSecurity) => {
    set("security", v);
    set("port", String(SECURITY_PORTS[v]));
  };
  return (
    <fieldset className="form-section">
      <legend>SMTP server</legend>
      <div className="grid-3">
        <TextField f="host" label="SMTP host" draft={draft} errors={errors} set={set} />
        <TextField f="port" label="Port" type="number" draft={draft} errors={errors} set={set} />
        <Field id="sender-f-security" label="Security">
          {(control) => (
            <select {...control} value={draft.security} onChange={(e) => setSecurity(e.target.value as SmtpSecurity)} data-testid="sender-smtp-security">
              <option value="starttls">STARTTLS (587)</option>
              <option value="tls">TLS (465)</option>
              <option value="none">None (25)</option>
            </select>
          )}
        </Field>
      </div>
      <div className="grid-2">
        <TextField f="username" label="Login" draft={draft} errors={errors} set={set} />
        <TextField
          f="password"
          label="Password"
          type="password"
          hint={mode === "edit" ? "Leave blank to keep the saved one; a new one is tested again." : "Stored encrypted; never shown again."}
          draft={draft}
          errors={errors}
          set={set}
        />
      </div>
      <button type="button" className="btn btn-ghost btn-sm btn-inline" onClick={useEthereal} data-testid="sender-ethereal">
        Fill in Ethereal's server (smtp.ethereal.email, 587, STARTTLS)
      </button>
    </fieldset>
  );
}

function LimitFields({ draft, errors, set }: FieldsProps) {
  const zones = useMemo(() => timeZoneOptions([draft.timezone, browserTimeZone()]), [draft.timezone]);
  return (
    <fieldset className="form-section">
      <legend>Limits of this mailbox</legend>
      <div className="grid-3">
        <TextField f="hourlyLimit" label="Per hour" type="number" hint="Blank: no cap of its own." draft={draft} errors={errors} set={set} />
        <TextField f="dailyLimit" label="Per day" type="number" hint="Per calendar day in its time zone." draft={draft} errors={errors} set={set} />
        <TextField f="minDelayMs" label="Least gap (ms)" type="number" hint="Blank: the server's default." draft={draft} errors={errors} set={set} />
      </div>
      <Field id="sender-f-timezone" label="Its time zone" hint="Where its day starts, for the daily cap.">
        {(control) => (
          <select {...control} value={draft.timezone} onChange={(e) => set("timezone", e.target.value)} data-testid="sender-timezone">
            {zones.map((z) => (
              <option key={z}>{z}</option>
            ))}
          </select>
        )}
      </Field>
    </fieldset>
  );
}

function FormFooter({ mode, busy, onClose }: { mode: "create" | "edit"; busy: boolean; onClose: () => void }) {
  return (
    <>
      <button type="button" className="btn btn-secondary" onClick={onClose}>
        Close
      </button>
      <button type="submit" form="sender-form-el" className="btn btn-primary" disabled={busy} data-testid="sender-test-submit">
        {busy ? <Spinner /> : null}
        {busy ? "Testing the connection…" : mode === "create" ? "Test connection and add" : "Save"}
      </button>
    </>
  );
}
