import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/client";
import { parseRecipients } from "../../lib/recipients";
import { toDateTimeLocalValue } from "../../lib/time";
import { newerDraftFields, type ComposeDraft } from "../composeDraft";
import { buildScheduleRequest, describeRejection, firstInvalid, readTiming, validateCompose } from "./composeForm";

const now = new Date(2025, 2, 4, 10, 30, 40).getTime();
const at = (offsetMs: number) => toDateTimeLocalValue(new Date(now + offsetMs));

function draft(over: Partial<ComposeDraft> = {}): ComposeDraft {
  return {
    senderEmail: " me@example.com ",
    senderName: " Me ",
    subject: " Spring sale ",
    body: "<p>Hi</p>",
    recipientsText: "ada@example.com\ngrace@example.com",
    fileName: null,
    startLocal: at(15 * 60_000),
    delaySeconds: "1.5",
    hourlyLimit: "200",
    ...newerDraftFields(),
    ...over,
  };
}

function check(d: ComposeDraft) {
  const parsed = parseRecipients(d.recipientsText);
  const timing = readTiming(d, now);
  return { parsed, timing, errors: validateCompose(d, parsed, timing) };
}

describe("compose validation", () => {
  it("accepts a complete draft", () => {
    const { errors, timing } = check(draft());
    expect(errors).toEqual({});
    expect(timing.problem).toBeNull();
    expect(timing.startStatus).toBe("upcoming");
  });

  it("names every missing field", () => {
    const { errors } = check(
      draft({ senderEmail: "nope", subject: " ", body: "", recipientsText: "", startLocal: "", delaySeconds: "", hourlyLimit: "0" }),
    );
    expect(errors).toEqual({
      senderEmail: ["Enter the sender's email address"],
      subject: ["Add a subject"],
      body: ["Write the email body"],
      recipients: ["Add at least one recipient"],
      startTime: ["Pick a valid start time"],
      delayMs: ["Enter 0 seconds or more"],
      hourlyLimit: ["Enter a whole number of at least 1"],
    });
    expect(firstInvalid(errors)).toBe("senderEmail");
  });

  it("catches a delay over the API's 24 hours and lines that are all invalid", () => {
    const { errors, timing } = check(draft({ delaySeconds: "100000", recipientsText: "not-an-email" }));
    expect(errors.delayMs?.[0]).toContain("at most 86,400 seconds");
    expect(errors.recipients).toEqual(["None of these lines is a valid email address"]);
    expect(timing.problem).toContain("from 0 to 86,400 seconds");
  });

  it("leaves a start more than an hour ago to the API and warns about it", () => {
    const { errors, timing } = check(draft({ startLocal: at(-2 * 3_600_000) }));
    expect(errors).toEqual({});
    expect(timing.startStatus).toBe("tooOld");
  });
});

describe("the schedule request", () => {
  const send = (d: ComposeDraft) => {
    const { parsed, timing } = check(d);
    return buildScheduleRequest(d, parsed.valid, timing, now);
  };
  const startMs = (iso: string) => Date.parse(iso);

  it("trims the text fields and converts the delay to milliseconds", () => {
    const req = send(draft());
    expect(req).toMatchObject({
      subject: "Spring sale",
      body: "<p>Hi</p>",
      recipients: ["ada@example.com", "grace@example.com"],
      delayMs: 1500,
      hourlyLimit: 200,
      sender: { email: "me@example.com", name: "Me" },
    });
    expect(startMs(req.startTime)).toBe(new Date(2025, 2, 4, 10, 45).getTime());
  });

  it("starts a passed start time now and sends a too old one as picked", () => {
    expect(startMs(send(draft({ startLocal: at(-30 * 60_000) })).startTime)).toBe(now);
    expect(startMs(send(draft({ startLocal: at(-2 * 3_600_000) })).startTime)).toBe(new Date(2025, 2, 4, 8, 30).getTime());
  });
});

describe("senders, fields, windows and steps in the request", () => {
  const accounts = { accounts: true };
  const send = (d: ComposeDraft) => {
    const { parsed, timing } = check(d);
    return buildScheduleRequest(d, parsed.valid, timing, now);
  };

  it("sends senderIds instead of a typed sender, and needs one", () => {
    const d = draft({ senderIds: ["s1", "s2"], senderEmail: "" });
    const { parsed, timing, errors } = check(d);
    expect(validateCompose(d, parsed, timing, accounts)).toEqual({});
    expect(errors.senderEmail).toBeDefined(); // the typed path still checks the address
    const req = buildScheduleRequest(d, parsed.valid, timing, now, accounts);
    expect(req.senderIds).toEqual(["s1", "s2"]);
    expect(req).not.toHaveProperty("sender");
    expect(validateCompose(draft({ senderIds: [] }), parsed, timing, accounts).senderIds).toEqual(["Pick at least one sender"]);
  });

  it("adds the window, jitter and steps only when set", () => {
    const plain = send(draft());
    expect(plain).not.toHaveProperty("sendingWindow");
    expect(plain).not.toHaveProperty("randomDelayMs");
    expect(plain).not.toHaveProperty("steps");
    const req = send(
      draft({
        windowOn: true,
        windowZone: "Europe/Berlin",
        windowDays: ["fri", "mon"],
        windowStart: "09:00",
        windowEnd: "17:30",
        jitterSeconds: "2.5",
        steps: [{ subject: "", body: "<p>Again</p>", wait: "2", unit: "days" }],
      }),
    );
    expect(req.sendingWindow).toEqual({ timezone: "Europe/Berlin", days: ["mon", "fri"], start: "09:00", end: "17:30" });
    expect(req.randomDelayMs).toBe(2500);
    expect(req.steps).toEqual([{ body: "<p>Again</p>", waitSeconds: 172_800 }]);
  });

  it("names a bad window, jitter or step", () => {
    const { errors } = check(
      draft({ windowOn: true, windowDays: [], jitterSeconds: "-1", steps: [{ subject: "", body: "", wait: "1", unit: "hours" }] }),
    );
    expect(errors.sendingWindow).toEqual(["Pick at least one day"]);
    expect(errors.randomDelayMs?.[0]).toContain("Enter 0 to");
    expect(errors.steps).toEqual(["Follow-up 1: Write the follow-up"]);
    expect(firstInvalid(errors)).toBe("steps");
  });

  it("sends recipients with their fields and maps the API's step and window errors", () => {
    const recipients = [{ email: "ada@example.com", fields: { first_name: "Ada" } }];
    const req = buildScheduleRequest(draft(), recipients, readTiming(draft(), now), now);
    expect(req.recipients).toEqual(recipients);
    const err = new ApiError(400, "invalid_request", "Bad", [
      { field: "recipients[0]", message: "missing first_name" },
      { field: "steps[0].body", message: "does not parse" },
      { field: "sendingWindow.timezone", message: "unknown zone" },
    ]);
    const r = describeRejection(err, req);
    expect(r.recipientErrors).toEqual([{ index: 0, value: "ada@example.com", message: "missing first_name" }]);
    expect(r.errors.steps).toEqual(["Follow-up 1: does not parse"]);
    expect(r.errors.sendingWindow).toEqual(["unknown zone"]);
  });
});

describe("a rejected schedule", () => {
  const req = buildScheduleRequest(draft(), ["ada@example.com", "grace@example.com"], readTiming(draft(), now), now);

  it("puts the API's field errors on their fields and focuses the first", () => {
    const err = new ApiError(400, "invalid_request", "startTime is in the past", [
      { field: "hourlyLimit", message: "must be at most 10000" },
      { field: "startTime", message: "must not be more than an hour ago" },
    ]);
    const r = describeRejection(err, req);
    expect(r.errors).toEqual({ hourlyLimit: ["must be at most 10000"], startTime: ["must not be more than an hour ago"] });
    expect(r.general).toEqual(["startTime is in the past"]);
    expect(r.focus).toBe("startTime");
  });

  it("lists refused recipients by address and focuses Recipients", () => {
    const err = new ApiError(400, "invalid_request", "", [{ field: "recipients[1]", message: "bad domain" }]);
    const r = describeRejection(err, req);
    expect(r.recipientErrors).toEqual([{ index: 1, value: "grace@example.com", message: "bad domain" }]);
    expect(r.general).toEqual(["Please fix the highlighted fields."]);
    expect(r.focus).toBe("recipients");
  });

  it("says what went wrong when nothing points at a field", () => {
    const r = describeRejection(new ApiError(0, "network", "offline"), req);
    expect(r).toEqual({ errors: {}, recipientErrors: [], general: ["Can't reach the server. Check your connection."], focus: null });
  });
});

describe("tracking in the request (issue 27)", () => {
  const request = (d: ComposeDraft) => {
    const parsed = parseRecipients(d.recipientsText);
    return buildScheduleRequest(d, parsed.valid, readTiming(d, now), now);
  };

  it("is left out unless turned on, and sent as {opens, clicks} when it is", () => {
    expect(request(draft())).not.toHaveProperty("tracking");
    expect(request(draft({ trackClicks: true })).tracking).toEqual({ opens: false, clicks: true });
  });

  it("shows the server's refusal of click tracking without a link on the tracking switches", () => {
    const error = new ApiError(400, "invalid_request", "tracking.clicks needs a link in the body", [
      { field: "tracking.clicks", message: "the HTML body has no http(s) link to track" },
    ]);
    expect(describeRejection(error, request(draft({ trackClicks: true }))).errors.tracking).toEqual(["the HTML body has no http(s) link to track"]);
  });
});
