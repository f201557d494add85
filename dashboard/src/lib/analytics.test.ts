import { describe, expect, it } from "vitest";
import type { Funnel } from "../api/types";
import { funnelStages, percent } from "./analytics";

const funnel: Funnel = {
  sent: 200, bounced: 4, opened: 82, clicked: 10, replied: 8, unsubscribed: 1,
  openRate: 0.41, clickRate: 0.05, replyRate: 0.04, bounceRate: 0.02,
  machine: { opens: 120, clicks: 33 },
};

describe("campaign funnel", () => {
  it("runs sent → opened → clicked → replied with rates of sent, machines left out", () => {
    expect(funnelStages(funnel).map((s) => [s.key, s.count, s.rate])).toEqual([
      ["sent", 200, 1], ["opened", 82, 0.41], ["clicked", 10, 0.05], ["replied", 8, 0.04],
    ]);
  });

  it("shows nothing sent as 0 and rates as percentages", () => {
    expect(funnelStages({ ...funnel, sent: 0 })[0].rate).toBe(0);
    expect(percent(0.4123)).toBe("41.2 %");
    expect(percent(0)).toBe("0 %");
  });
});
