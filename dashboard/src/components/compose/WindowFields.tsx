/**
 * The sending window (issue 15): emails go out only on the picked days between
 * the start and end time of the window's zone (default: the browser's).
 *
 * data-testid:
 *   compose-window-toggle   checkbox "Send only inside a sending window"
 *   compose-window-zone     time zone select
 *   compose-window-day      one day's toggle button; data-day = mon..sun, aria-pressed
 *   compose-window-start    start time (HH:MM)
 *   compose-window-end      end time (HH:MM)
 *   error-sendingWindow     the error line
 */
import { useMemo } from "react";
import { browserTimeZone, timeZoneOptions, toggleDay, WEEKDAY_LABELS, WEEKDAYS } from "../../lib/sendingWindow";
import { Field } from "./Field";
import type { ComposeForm } from "./useComposeForm";

export function WindowFields({ form }: { form: ComposeForm }) {
  const { draft, set, errors } = form;
  return (
    <div className="window-fields">
      <label className="checkbox-row">
        <input
          type="checkbox"
          checked={draft.windowOn}
          onChange={(e) => set("windowOn", e.target.checked)}
          data-testid="compose-window-toggle"
        />
        Send only inside a sending window (working days and hours)
      </label>
      {draft.windowOn && (
        <>
          <div className="grid-3">
            <ZoneField form={form} />
            <TimeField form={form} which="start" />
            <TimeField form={form} which="end" />
          </div>
          <DaysField form={form} />
          {errors.sendingWindow?.length ? (
            <p className="field-error" data-testid="error-sendingWindow" role="alert">
              {errors.sendingWindow.join(" ")}
            </p>
          ) : null}
        </>
      )}
    </div>
  );
}

function ZoneField({ form }: { form: ComposeForm }) {
  const { draft, set, register } = form;
  const zones = useMemo(() => timeZoneOptions([draft.windowZone, browserTimeZone()]), [draft.windowZone]);
  return (
    <Field id="compose-window-zone" label="Window time zone" hint={`Yours: ${browserTimeZone()}`}>
      {(control) => (
        <select {...control} value={draft.windowZone} onChange={(e) => set("windowZone", e.target.value)} ref={register("sendingWindow")} data-testid="compose-window-zone">
          {zones.map((z) => (
            <option key={z} value={z}>
              {z}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

function TimeField({ form, which }: { form: ComposeForm; which: "start" | "end" }) {
  const key = which === "start" ? "windowStart" : "windowEnd";
  const error = form.extras.windowErrors[which];
  return (
    <Field id={`compose-window-${which}`} label={which === "start" ? "Window opens" : "Window closes"} error={error ? [error] : undefined}>
      {(control) => (
        <input
          {...control}
          type="time"
          step={60}
          value={form.draft[key]}
          onChange={(e) => form.set(key, e.target.value)}
          data-testid={`compose-window-${which}`}
        />
      )}
    </Field>
  );
}

function DaysField({ form }: { form: ComposeForm }) {
  const days = form.draft.windowDays;
  return (
    <div className="field">
      <span className="field-label" id="compose-window-days-label">
        Days
      </span>
      <div className="chips" role="group" aria-labelledby="compose-window-days-label">
        {WEEKDAYS.map((d) => (
          <button
            key={d}
            type="button"
            className={`chip chip-toggle${days.includes(d) ? " active" : ""}`}
            aria-pressed={days.includes(d)}
            onClick={() => form.set("windowDays", toggleDay(days, d))}
            data-testid="compose-window-day"
            data-day={d}
          >
            {WEEKDAY_LABELS[d]}
          </button>
        ))}
      </div>
    </div>
  );
}
