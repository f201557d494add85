import { useMemo } from "react";
import { DEFAULT_MIN_GAP_MS, type PlanOptions } from "../../lib/schedule";
import { startTimeWarning } from "../../lib/startTime";
import { localTimeZone, toDateTimeLocalValue } from "../../lib/time";
import { FinishEstimate } from "../FinishEstimate";
import { MAX_DELAY_SECONDS } from "./composeForm";
import { Field } from "./Field";
import { JitterField } from "./JitterField";
import { TrackingFields } from "./TrackingFields";
import { WindowFields } from "./WindowFields";
import type { ComposeForm } from "./useComposeForm";

type QuickStart = { label: string; minutes: number } | { label: string; tomorrowAt: number };
const QUICK_STARTS: QuickStart[] = [
  { label: "Now", minutes: 0 },
  { label: "In 15 min", minutes: 15 },
  { label: "In 1 hour", minutes: 60 },
  { label: "Tomorrow 9:00", tomorrowAt: 9 },
];

function quickStartValue(pick: QuickStart, now = new Date()): string {
  const d = new Date(now);
  if ("minutes" in pick) d.setTime(d.getTime() + pick.minutes * 60_000);
  else {
    d.setDate(d.getDate() + 1);
    d.setHours(pick.tomorrowAt, 0, 0, 0);
  }
  return toDateTimeLocalValue(d);
}

/** When sending starts, how fast it goes, and the estimated finish. */
export function TimingFields({ form, planOptions }: { form: ComposeForm; planOptions: PlanOptions }) {
  const { draft, errors, timing, set, register } = form;
  const tz = useMemo(localTimeZone, []);
  const minGapSeconds = (planOptions.minGapMs ?? DEFAULT_MIN_GAP_MS) / 1000;
  const warning = timing.startStatus ? startTimeWarning(timing.startStatus) : "";
  const quickPicks = (
    <div className="chips" role="group" aria-label="Quick picks">
      {QUICK_STARTS.map((pick) => (
        <button key={pick.label} type="button" className="chip" onClick={() => set("startLocal", quickStartValue(pick))}>
          {pick.label}
        </button>
      ))}
    </div>
  );
  const delayHint = (
    <>
      In seconds.
      {minGapSeconds > 0 && ` Sends from one sender are at least ${minGapSeconds.toLocaleString()} s apart.`}
    </>
  );

  return (
    <>
      <div className="grid-3">
        <Field
          id="compose-start"
          label="Start time"
          hint={`${warning}Time zone: ${tz}`}
          error={errors.startTime}
          errorTestId="error-startTime"
          footer={quickPicks}
        >
          {(control) => (
            <input
              {...control}
              type="datetime-local"
              value={draft.startLocal}
              onChange={(e) => set("startLocal", e.target.value)}
              ref={register("startTime")}
              data-testid="compose-start"
            />
          )}
        </Field>
        <Field id="compose-delay" label="Delay between emails" hint={delayHint} error={errors.delayMs} errorTestId="error-delayMs">
          {(control) => (
            <div className="input-suffix">
              <input
                {...control}
                type="number"
                inputMode="decimal"
                min={0}
                max={MAX_DELAY_SECONDS}
                step="any"
                value={draft.delaySeconds}
                onChange={(e) => set("delaySeconds", e.target.value)}
                ref={register("delayMs")}
                data-testid="compose-delay"
              />
              <span aria-hidden="true">seconds</span>
            </div>
          )}
        </Field>
        <Field
          id="compose-hourly-limit"
          label="Hourly limit"
          hint="Most emails this sender sends in one hour, across all campaigns."
          error={errors.hourlyLimit}
          errorTestId="error-hourlyLimit"
        >
          {(control) => (
            <div className="input-suffix">
              <input
                {...control}
                type="number"
                inputMode="numeric"
                min={1}
                step={1}
                value={draft.hourlyLimit}
                onChange={(e) => set("hourlyLimit", e.target.value)}
                ref={register("hourlyLimit")}
                data-testid="compose-hourly-limit"
              />
              <span aria-hidden="true">per hour</span>
            </div>
          )}
        </Field>
      </div>
      <div className="grid-3">
        <JitterField form={form} />
      </div>
      <WindowFields form={form} />
      <TrackingFields form={form} />
      <FinishEstimate
        plan={form.plan}
        now={form.now}
        problem={form.parsed.valid.length > 0 ? timing.problem : null}
        windowZone={form.extras.window?.timezone ?? null}
        rotation={form.via.accounts ? form.draft.senderIds.length : 1}
      />
    </>
  );
}
