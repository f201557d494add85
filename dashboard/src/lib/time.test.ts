import { describe, expect, it } from "vitest";
import { formatDuration, parseDateTimeLocal, relativeTime, toDateTimeLocalValue, toIsoWithOffset } from "./time";

describe("time helpers", () => {
  it("round-trips datetime-local values in local time", () => {
    const d = parseDateTimeLocal("2025-03-04T10:05");
    expect(d).not.toBeNull();
    expect(d!.getHours()).toBe(10);
    expect(d!.getMinutes()).toBe(5);
    expect(toDateTimeLocalValue(d!)).toBe("2025-03-04T10:05");
    expect(parseDateTimeLocal("2025-02-31T10:00")).toBeNull();
    expect(parseDateTimeLocal("")).toBeNull();
  });

  it("writes ISO 8601 with the local offset that denotes the same instant", () => {
    const d = new Date(2025, 2, 4, 10, 5, 7);
    const s = toIsoWithOffset(d);
    expect(s).toMatch(/^2025-03-04T10:05:07[+-]\d{2}:\d{2}$/);
    expect(Date.parse(s)).toBe(d.getTime());
  });

  it("describes relative times", () => {
    const now = Date.parse("2025-01-01T12:00:00Z");
    expect(relativeTime(now + 5_000, now, "en")).toBe("now");
    expect(relativeTime(now + 5 * 60_000, now, "en")).toBe("in 5 minutes");
    expect(relativeTime(now - 3 * 3_600_000, now, "en")).toBe("3 hours ago");
  });

  it("formats durations", () => {
    expect(formatDuration(45_000)).toBe("45 s");
    expect(formatDuration(3_649_000)).toBe("1 h");
    expect(formatDuration(3_660_000)).toBe("1 h 1 min");
    expect(formatDuration(200_000)).toBe("3 min 20 s");
  });
});
