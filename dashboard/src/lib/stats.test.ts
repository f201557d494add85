import { describe, expect, it } from "vitest";
import { lastHours, niceMax } from "./stats";

describe("lastHours", () => {
  it("returns 24 hourly buckets ending with the current hour, filled from perHour", () => {
    const now = Date.parse("2025-01-02T10:35:00Z");
    const pts = lastHours(
      [
        { hour: "2025-01-02T10:00:00+00:00", sent: 5, failed: 1 },
        { hour: "2025-01-02T09:00:00Z", sent: 3, failed: 0 },
        { hour: "2025-01-01T11:00:00Z", sent: 7, failed: 2 }, // oldest bucket
        { hour: "2025-01-01T10:00:00Z", sent: 99, failed: 0 }, // too old
        { hour: "garbage", sent: 1, failed: 1 },
      ],
      now,
    );
    expect(pts).toHaveLength(24);
    expect(new Date(pts[23].start).toISOString()).toBe("2025-01-02T10:00:00.000Z");
    expect(new Date(pts[0].start).toISOString()).toBe("2025-01-01T11:00:00.000Z");
    expect(pts[23]).toMatchObject({ sent: 5, failed: 1 });
    expect(pts[22]).toMatchObject({ sent: 3, failed: 0 });
    expect(pts[0]).toMatchObject({ sent: 7, failed: 2 });
    expect(pts.reduce((a, p) => a + p.sent, 0)).toBe(15);
  });

  it("picks a round axis maximum", () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(7)).toBe(10);
    expect(niceMax(180)).toBe(200);
    expect(niceMax(230)).toBe(250);
  });
});
