import { describe, expect, it } from "vitest";
import {
  describeWindow,
  dualZoneTimes,
  estimateWithWindow,
  shiftIntoWindow,
  toggleDay,
  toSendingWindow,
  validateWindow,
  zonedParts,
} from "./sendingWindow";

const berlin = { timezone: "Europe/Berlin", days: ["mon", "tue", "wed", "thu", "fri"] as const, start: "09:00", end: "17:30" };
const w = { ...berlin, days: [...berlin.days] };

describe("sending window checks", () => {
  it("names each bad part", () => {
    expect(validateWindow(w)).toEqual({});
    expect(validateWindow({ timezone: "Mars/Base", days: [], start: "9", end: "08:00" })).toEqual({
      timezone: "Pick a time zone",
      days: "Pick at least one day",
      start: "Enter a start time (HH:MM)",
    });
    expect(validateWindow({ ...w, start: "10:00", end: "10:00" }).end).toBe("End after the start");
  });

  it("keeps days in week order", () => {
    expect(toggleDay(["fri", "mon"], "wed")).toEqual(["mon", "wed", "fri"]);
    expect(toggleDay(["mon", "wed"], "mon")).toEqual(["wed"]);
    expect(toSendingWindow({ ...w, days: ["fri", "mon"] }).days).toEqual(["mon", "fri"]);
  });
});

describe("times inside the window", () => {
  it("reads the local weekday and time in a zone", () => {
    expect(zonedParts(Date.UTC(2025, 2, 3, 8, 0), "Europe/Berlin")).toEqual({ day: "mon", minutes: 9 * 60, seconds: 0 });
    expect(zonedParts(Date.UTC(2025, 2, 3, 4, 0), "Asia/Kolkata").minutes).toBe(9 * 60 + 30);
  });

  it("keeps a time inside, moves one outside to the next opening", () => {
    const inside = Date.UTC(2025, 2, 3, 10, 0); // Mon 11:00 Berlin
    expect(shiftIntoWindow(inside, w)).toBe(inside);
    expect(shiftIntoWindow(Date.UTC(2025, 2, 3, 5, 0), w)).toBe(Date.UTC(2025, 2, 3, 8, 0)); // Mon 06:00 -> 09:00
    expect(shiftIntoWindow(Date.UTC(2025, 2, 3, 17, 0), w)).toBe(Date.UTC(2025, 2, 4, 8, 0)); // Mon 18:00 -> Tue 09:00
    expect(shiftIntoWindow(Date.UTC(2025, 2, 8, 12, 0), w)).toBe(Date.UTC(2025, 2, 10, 8, 0)); // Sat -> Mon
  });

  it("keeps 09:00 local across a daylight-saving change", () => {
    // Berlin moves to summer time on Sun 30 March 2025: 09:00 is 07:00 UTC from then on.
    expect(shiftIntoWindow(Date.UTC(2025, 2, 29, 12, 0), w)).toBe(Date.UTC(2025, 2, 31, 7, 0));
  });

  it("refuses a window that never opens, and estimates a finish inside it", () => {
    expect(shiftIntoWindow(0, { ...w, days: [] })).toBeNull();
    const start = Date.UTC(2025, 2, 3, 16, 0); // Mon 17:00 Berlin, 30 minutes before closing
    // 3 sends an hour apart: 17:00 Mon, then Tue 09:00, Tue 10:00.
    expect(estimateWithWindow(start, 3, 3_600_000, w)).toBe(Date.UTC(2025, 2, 4, 9, 0));
  });

  it("shows the window's zone beside the viewer's when they differ", () => {
    const t = Date.UTC(2025, 2, 3, 8, 0);
    expect(dualZoneTimes(t, "Europe/Berlin", "Europe/Berlin").window).toBeNull();
    const both = dualZoneTimes(t, "Asia/Kolkata", "Europe/Berlin");
    expect(both.window).toMatch(/1:30|13:30/);
    expect(both.viewer).toMatch(/9:00|09:00/);
    expect(describeWindow(w)).toBe("Mon–Fri 09:00–17:30 (Europe/Berlin)");
    expect(describeWindow({ ...w, days: ["mon", "wed"] })).toBe("Mon, Wed 09:00–17:30 (Europe/Berlin)");
  });
});
