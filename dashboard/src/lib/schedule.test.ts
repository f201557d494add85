import { describe, expect, it } from "vitest";
import { estimateFinish, planSendTimes, summarizePlan } from "./schedule";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

describe("planSendTimes / estimateFinish", () => {
  it("spaces emails by the delay from the start", () => {
    const times = planSendTimes({ count: 4, startMs: at("2025-01-01T10:00:00Z"), delayMs: 5000, hourlyLimit: 200 });
    expect(times.map(iso)).toEqual([
      "2025-01-01T10:00:00.000Z",
      "2025-01-01T10:00:05.000Z",
      "2025-01-01T10:00:10.000Z",
      "2025-01-01T10:00:15.000Z",
    ]);
  });

  it("never spaces emails closer than the minimum gap (default 1 s)", () => {
    const start = at("2025-01-01T10:00:00Z");
    expect(iso(estimateFinish({ count: 3, startMs: start, delayMs: 0, hourlyLimit: 100 }))).toBe("2025-01-01T10:00:02.000Z");
    expect(iso(estimateFinish({ count: 3, startMs: start, delayMs: 200, hourlyLimit: 100, minGapMs: 500 }))).toBe(
      "2025-01-01T10:00:01.000Z",
    );
  });

  it("moves the overflow of a full hour to the next epoch-aligned hour (250 @ 1 s, 200/h)", () => {
    const times = planSendTimes({ count: 250, startMs: at("2025-03-04T10:00:00Z"), delayMs: 1000, hourlyLimit: 200 });
    expect(iso(times[0])).toBe("2025-03-04T10:00:00.000Z");
    expect(iso(times[199])).toBe("2025-03-04T10:03:19.000Z");
    expect(iso(times[200])).toBe("2025-03-04T11:00:00.000Z");
    expect(iso(times[249])).toBe("2025-03-04T11:00:49.000Z");
    const s = summarizePlan({ count: 250, startMs: at("2025-03-04T10:00:00Z"), delayMs: 1000, hourlyLimit: 200 });
    expect(iso(s.finishMs)).toBe("2025-03-04T11:00:49.000Z");
    expect(s).toMatchObject({ count: 250, windows: 2, limited: true, gapMs: 1000 });
  });

  it("counts the window the start falls in, not a full hour from the start", () => {
    // Start at 10:59:58 with 2 per hour: 10:59:58, 10:59:59 fill the 10:00 window; the third goes at 11:00:00.
    const times = planSendTimes({ count: 5, startMs: at("2025-01-01T10:59:58Z"), delayMs: 1000, hourlyLimit: 2 });
    expect(times.map(iso)).toEqual([
      "2025-01-01T10:59:58.000Z",
      "2025-01-01T10:59:59.000Z",
      "2025-01-01T11:00:00.000Z",
      "2025-01-01T11:00:01.000Z",
      "2025-01-01T12:00:00.000Z",
    ]);
  });

  it("is not limited when the delay alone keeps under the limit", () => {
    const s = summarizePlan({ count: 10, startMs: at("2025-01-01T10:00:00Z"), delayMs: 3_600_000, hourlyLimit: 1 });
    expect(iso(s.finishMs)).toBe("2025-01-01T19:00:00.000Z");
    expect(s.limited).toBe(false);
    expect(s.windows).toBe(10);
  });

  it("spreads a limit of 1 per hour over consecutive windows", () => {
    const finish = estimateFinish({ count: 3, startMs: at("2025-01-01T10:30:00Z"), delayMs: 1000, hourlyLimit: 1 });
    expect(iso(finish)).toBe("2025-01-01T12:00:00.000Z");
  });

  it("honours a shorter rate window (RATE_WINDOW_SECONDS)", () => {
    const times = planSendTimes({
      count: 4,
      startMs: at("2025-01-01T10:00:00Z"),
      delayMs: 1000,
      hourlyLimit: 2,
      windowMs: 10_000,
    });
    expect(times.map(iso)).toEqual([
      "2025-01-01T10:00:00.000Z",
      "2025-01-01T10:00:01.000Z",
      "2025-01-01T10:00:10.000Z",
      "2025-01-01T10:00:11.000Z",
    ]);
  });

  it("agrees with the full plan for large batches", () => {
    const input = { count: 5000, startMs: at("2025-06-01T08:17:23Z"), delayMs: 1500, hourlyLimit: 700 };
    const times = planSendTimes(input);
    expect(estimateFinish(input)).toBe(times[times.length - 1]);
    // No window ever holds more than the limit, and times never go backwards.
    const perWindow = new Map<number, number>();
    for (let i = 0; i < times.length; i++) {
      const w = Math.floor(times[i] / 3_600_000);
      perWindow.set(w, (perWindow.get(w) ?? 0) + 1);
      if (i > 0) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(1500);
    }
    expect(Math.max(...perWindow.values())).toBeLessThanOrEqual(700);
  });

  it("returns null for an empty batch and rejects bad input", () => {
    expect(estimateFinish({ count: 0, startMs: 0, delayMs: 0, hourlyLimit: 1 })).toBeNull();
    expect(() => estimateFinish({ count: 1, startMs: 0, delayMs: -1, hourlyLimit: 1 })).toThrow(RangeError);
    expect(() => estimateFinish({ count: 1, startMs: 0, delayMs: 0, hourlyLimit: 0 })).toThrow(RangeError);
    expect(() => estimateFinish({ count: 1.5, startMs: 0, delayMs: 0, hourlyLimit: 1 })).toThrow(RangeError);
  });
});
