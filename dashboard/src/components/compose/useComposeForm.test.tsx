import type { ReactNode } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { toDateTimeLocalValue } from "../../lib/time";
import { newerDraftFields, type ComposeDraft } from "../composeDraft";
import { TimingFields } from "./TimingFields";
import { useComposeForm, type ComposeForm } from "./useComposeForm";

const now = new Date(2025, 2, 4, 10, 30, 40);
const at = (offsetMs: number) => toDateTimeLocalValue(new Date(now.getTime() + offsetMs));

const draft = (over: Partial<ComposeDraft> = {}): ComposeDraft => ({
  senderEmail: "me@example.com",
  senderName: "Me",
  subject: "Spring sale",
  body: "<p>Hi</p>",
  recipientsText: "email\nada@example.com\ngrace@example.com\nAda@example.com\nnope",
  fileName: null,
  startLocal: at(15 * 60_000),
  delaySeconds: "1",
  hourlyLimit: "200",
  ...newerDraftFields(),
  ...over,
});

/** Renders the hook once (server-side, no effects) and hands back what it returned. */
function renderForm(d: ComposeDraft, show?: (form: ComposeForm) => ReactNode) {
  let form: ComposeForm | undefined;
  function Harness() {
    form = useComposeForm({
      draft: d,
      setDraft: () => {},
      planOptions: { minGapMs: 1000 },
      schedule: () => Promise.reject(new Error("not in this test")),
      onScheduled: () => {},
    });
    return <>{show?.(form)}</>;
  }
  const html = renderToStaticMarkup(<Harness />);
  return { form: form!, html };
}

describe("useComposeForm", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(now);
  });
  afterEach(() => vi.useRealTimers());

  it("starts without errors and reads the recipients", () => {
    const { form } = renderForm(draft());
    expect(form.errors).toEqual({});
    expect(form.general).toEqual([]);
    expect(form.submitting).toBe(false);
    expect(form.bodyView).toBe("write");
    expect(form.parsed.valid).toEqual(["ada@example.com", "grace@example.com"]);
    expect(form.parsed.invalid).toHaveLength(1);
    expect(form.hasRecipientsInput).toBe(true);
  });

  it("plans from the picked start", () => {
    const { form } = renderForm(draft());
    expect(form.timing.startStatus).toBe("upcoming");
    expect(form.plan?.firstMs).toBe(new Date(2025, 2, 4, 10, 45).getTime());
    expect(form.plan?.finishMs).toBe(new Date(2025, 2, 4, 10, 45, 1).getTime());
  });

  it("plans a start that has just passed from now, and says so", () => {
    const { form, html } = renderForm(draft({ startLocal: at(-20 * 60_000) }), (f) => (
      <TimingFields form={f} planOptions={{ minGapMs: 1000 }} />
    ));
    expect(form.timing.startStatus).toBe("passed");
    expect(form.plan?.firstMs).toBe(now.getTime());
    expect(html).toContain("In the past: sending starts right away.");
  });

  it("warns about a start more than an hour ago", () => {
    const { form, html } = renderForm(draft({ startLocal: at(-61 * 60_000) }), (f) => (
      <TimingFields form={f} planOptions={{ minGapMs: 1000 }} />
    ));
    expect(form.timing.startStatus).toBe("tooOld");
    expect(html).toContain("More than an hour ago: pick a later time.");
  });

  it("does not warn about the current minute", () => {
    const { html } = renderForm(draft({ startLocal: at(0) }), (f) => <TimingFields form={f} planOptions={{}} />);
    expect(html).not.toContain("In the past");
    expect(html).toContain("Time zone:");
  });

  it("has no plan and names the problem when the timing is incomplete", () => {
    const { form } = renderForm(draft({ hourlyLimit: "0" }));
    expect(form.plan).toBeNull();
    expect(form.timing.problem).toBe("Enter an hourly limit of at least 1.");
  });
});
