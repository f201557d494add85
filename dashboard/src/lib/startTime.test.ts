import { describe, expect, it } from "vitest";
import { effectiveStartMs, START_PAST_TOLERANCE_MS, startTimeStatus, startTimeWarning } from "./startTime";

const now = Date.parse("2025-03-04T10:30:40Z");
const min = 60_000;

describe("start time in the past", () => {
  it("uses the server's one-hour tolerance", () => {
    expect(START_PAST_TOLERANCE_MS).toBe(3_600_000);
  });

  it("counts the current minute and later as on time", () => {
    expect(startTimeStatus(Date.parse("2025-03-04T10:30:00Z"), now)).toBe("upcoming");
    expect(startTimeStatus(now + 15 * min, now)).toBe("upcoming");
  });

  it("treats a start within the hour as passed and anything older as too old", () => {
    expect(startTimeStatus(Date.parse("2025-03-04T10:29:00Z"), now)).toBe("passed");
    expect(startTimeStatus(now - START_PAST_TOLERANCE_MS, now)).toBe("passed");
    expect(startTimeStatus(now - START_PAST_TOLERANCE_MS - 1, now)).toBe("tooOld");
    expect(startTimeStatus(now - 2 * START_PAST_TOLERANCE_MS, now)).toBe("tooOld");
  });

  it("sends a passed start as now and leaves the rest as picked", () => {
    expect(effectiveStartMs(now + 5 * min, now)).toBe(now + 5 * min);
    expect(effectiveStartMs(now - 10 * min, now)).toBe(now);
    expect(effectiveStartMs(now - 59 * min, now)).toBe(now);
    expect(effectiveStartMs(now - 2 * 60 * min, now)).toBe(now - 2 * 60 * min);
  });

  it("words a warning for each status", () => {
    expect(startTimeWarning("upcoming")).toBe("");
    expect(startTimeWarning("passed")).toContain("sending starts right away");
    expect(startTimeWarning("tooOld")).toContain("More than an hour ago");
  });
});
