/**
 * A small profile page: the postal address printed in the unsubscribe footer of
 * every email whose body has no `{{ unsubscribe_url }}` (CAN-SPAM asks for one).
 *
 * data-testid:
 *   settings-view            the page
 *   settings-postal-address  the textarea
 *   settings-save            "Save"
 *   settings-message         saved / the error
 */
import { useState, type FormEvent } from "react";
import { describeError } from "../../api/client";
import { useAuth } from "../../auth/AuthContext";
import { Field } from "../compose/Field";
import { Spinner } from "../Skeleton";

export function SettingsView() {
  const { api, user } = useAuth();
  const [address, setAddress] = useState(user?.postalAddress ?? "");
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setMessage(null);
    try {
      const res = await api.updateMe({ postalAddress: address.trim() || null });
      const saved = res && "user" in res ? res.user?.postalAddress : undefined;
      if (typeof saved === "string") setAddress(saved);
      setMessage({ ok: true, text: "Saved. It appears in the footer of your next emails." });
    } catch (err) {
      setMessage({ ok: false, text: describeError(err) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="settings-title" data-testid="settings-view">
      <div className="card-header">
        <div>
          <h2 id="settings-title">Settings</h2>
          <p className="muted">Signed in as {user?.email}.</p>
        </div>
      </div>
      <form className="form card-pad" onSubmit={(e) => void save(e)}>
        <Field
          id="settings-postal-address"
          label="Postal address"
          hint="Shown with the unsubscribe link in the footer the server adds to emails without {{ unsubscribe_url }}. Required for commercial mail in many places."
        >
          {(control) => (
            <textarea {...control} rows={3} value={address} onChange={(e) => setAddress(e.target.value)} data-testid="settings-postal-address" />
          )}
        </Field>
        <div className="row-actions">
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="settings-save">
            {busy ? <Spinner /> : null} Save
          </button>
        </div>
        {message && (
          <p className={message.ok ? "hint" : "field-error"} role="status" data-testid="settings-message">
            {message.text}
          </p>
        )}
      </form>
    </section>
  );
}
