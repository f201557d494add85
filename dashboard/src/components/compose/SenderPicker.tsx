/**
 * Picks one or more of the user's sender accounts (issue 13); several rotate.
 * Falls back to the typed From address (`SenderFields`) when the user has none
 * or chooses "Send from another address".
 *
 * data-testid:
 *   compose-senders          the list of sender checkboxes (fieldset)
 *   compose-sender-option    one sender's row; data-sender-id, data-status
 *   compose-sender-checkbox  its checkbox
 *   compose-sender-share     "≈ N emails" per picked sender (rotation share)
 *   compose-sender-dns-warning  its domain fails the SPF/DKIM/DMARC check (issue 29)
 *   compose-sender-typed     the "Send from another address" / "Use my senders" switch
 *   error-senderIds          the error line
 */
import type { SenderAccount } from "../../api/types";
import { pickerWarning } from "../../lib/domainHealth";
import { senderLabel } from "../../lib/senders";
import { useDomainVerdicts } from "../senders/DomainHealth";
import { Field } from "./Field";
import { SenderFields } from "./SenderFields";
import type { ComposeForm } from "./useComposeForm";

export function SenderPicker({ form }: { form: ComposeForm }) {
  if (form.senders.length === 0) return <SenderFields form={form} />;
  if (!form.via.accounts) {
    return (
      <>
        <SenderFields form={form} />
        <button type="button" className="btn btn-ghost btn-sm btn-inline" onClick={() => form.setTypeAddress(false)} data-testid="compose-sender-typed">
          Use my senders instead
        </button>
      </>
    );
  }
  return <AccountChoice form={form} />;
}

function AccountChoice({ form }: { form: ComposeForm }) {
  const { draft, errors, senders, set } = form;
  const picked = draft.senderIds;
  const toggle = (id: string) => set("senderIds", picked.includes(id) ? picked.filter((x) => x !== id) : [...picked, id]);
  const shares = rotationShares(form.parsed.valid.length, senders.filter((s) => picked.includes(s.id)));
  const verdicts = useDomainVerdicts(senders.map((s) => s.id));
  const hint =
    picked.length > 1
      ? `Rotation: recipients are spread over ${picked.length} senders in turn, each with its own limits.`
      : "Pick several to rotate the recipients over them.";
  return (
    <>
      <Field id="compose-senders" label="Send from" hint={hint} error={errors.senderIds} errorTestId="error-senderIds">
        {(control) => (
          <div className="sender-options" role="group" aria-label="Send from" data-testid="compose-senders" id={control.id}>
            {senders.map((s) => (
              <SenderOption
                key={s.id}
                sender={s}
                checked={picked.includes(s.id)}
                share={shares.get(s.id)}
                warning={pickerWarning(verdicts.get(s.id))}
                onToggle={() => toggle(s.id)}
              />
            ))}
          </div>
        )}
      </Field>
      <button type="button" className="btn btn-ghost btn-sm btn-inline" onClick={() => form.setTypeAddress(true)} data-testid="compose-sender-typed">
        Send from another address
      </button>
    </>
  );
}

function SenderOption({
  sender,
  checked,
  share,
  warning,
  onToggle,
}: {
  sender: SenderAccount;
  checked: boolean;
  share?: number;
  warning: string | null;
  onToggle: () => void;
}) {
  const failing = sender.status === "failing";
  return (
    <label className={`sender-option${checked ? " checked" : ""}`} data-testid="compose-sender-option" data-sender-id={sender.id} data-status={sender.status}>
      <input type="checkbox" checked={checked} onChange={onToggle} data-testid="compose-sender-checkbox" />
      <span className="sender-option-text">
        <span className="cell-strong">{senderLabel(sender)}</span>
        <span className="hint">
          {sender.kind === "relay" ? "Relay" : sender.smtp?.host}
          {sender.dailyLimit ? ` · ${sender.sentToday}/${sender.dailyLimit} today` : ""}
          {failing && <span className="text-danger"> · failing: emails are held until it is fixed</span>}
          {warning && (
            <span className="text-danger" data-testid="compose-sender-dns-warning">
              {" "}
              · {warning}
            </span>
          )}
        </span>
      </span>
      {checked && share !== undefined && (
        <span className="hint" data-testid="compose-sender-share">
          ≈ {share.toLocaleString()} {share === 1 ? "email" : "emails"}
        </span>
      )}
    </label>
  );
}

/** Recipients per sender when `count` are dealt out in turn. */
export function rotationShares(count: number, senders: { id: string }[]): Map<string, number> {
  const n = senders.length;
  return new Map(senders.map((s, i) => [s.id, n === 0 ? 0 : Math.floor(count / n) + (i < count % n ? 1 : 0)]));
}
