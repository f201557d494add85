import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { parseRecipients } from "../lib/recipients";
import { summarizePlan } from "../lib/schedule";
import { FinishEstimate } from "./FinishEstimate";
import { RecipientsSummary } from "./RecipientsSummary";
import { previewDocument } from "./compose/BodyField";

const attr = (html: string, name: string) => new RegExp(`${name}="([^"]*)"`).exec(html)?.[1];
const testIdText = (html: string, id: string) =>
  new RegExp(`data-testid="${id}"[^>]*>([^<]*)<`).exec(html)?.[1];

describe("<RecipientsSummary>", () => {
  it("shows valid, duplicate and invalid counts and lists invalid lines", () => {
    const parsed = parseRecipients("email\na@x.com\nb@x.com\nA@x.com\nnope\nc@x.com");
    const html = renderToStaticMarkup(<RecipientsSummary parsed={parsed} hasInput />);
    expect(testIdText(html, "recipients-valid-count")).toBe("3");
    expect(testIdText(html, "recipients-duplicate-count")).toBe("1");
    expect(testIdText(html, "recipients-invalid-count")).toBe("1");
    expect(attr(html, "data-valid")).toBe("3");
    expect(html).toContain("Line 5");
    expect(html).toContain("nope");
    expect(html).toContain("Header row skipped");
  });

  it("shows a hint before anything is pasted", () => {
    const html = renderToStaticMarkup(<RecipientsSummary parsed={parseRecipients("")} hasInput={false} />);
    expect(html).toContain("Paste addresses");
    expect(attr(html, "data-valid")).toBe("0");
  });
});

describe("<FinishEstimate>", () => {
  it("shows the estimated finish of the plan", () => {
    const start = Date.parse("2025-03-04T10:00:00Z");
    const plan = summarizePlan({ count: 250, startMs: start, delayMs: 1000, hourlyLimit: 200 });
    const html = renderToStaticMarkup(<FinishEstimate plan={plan} now={start - 60_000} />);
    expect(attr(html, "data-finish")).toBe("2025-03-04T11:00:49.000Z");
    expect(html).toContain("250 emails");
    expect(html).toContain("2 hourly windows");
  });

  it("explains what is missing", () => {
    expect(renderToStaticMarkup(<FinishEstimate plan={null} now={0} />)).toContain("Add recipients");
    expect(renderToStaticMarkup(<FinishEstimate plan={null} now={0} problem="Pick a start time." />)).toContain(
      "Pick a start time.",
    );
  });
});

describe("previewDocument", () => {
  it("wraps the body HTML in a document", () => {
    const doc = previewDocument("<h1>Hi</h1>");
    expect(doc).toMatch(/^<!doctype html>/);
    expect(doc).toContain("<body><h1>Hi</h1></body>");
  });
});
