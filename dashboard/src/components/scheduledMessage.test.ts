import { describe, expect, it } from "vitest";
import { scheduledMessage } from "./scheduledMessage";

const res = { success: true, batchId: "b", emailCount: 3, duplicatesRemoved: 1, suppressedRemoved: 1, startTime: "S", estimatedEndTime: "E" };

describe("scheduledMessage", () => {
  it("says one of each in the singular", () => {
    expect(scheduledMessage(res, (iso) => `<${iso}>`)).toBe("Estimated finish <E>. 1 duplicate removed. 1 suppressed address left out.");
  });

  it("lists the rows an import skipped by line, the first three", () => {
    const errors = [1, 2, 3, 4].map((n) => ({ line: n * 10, message: `bad ${n}` }));
    const msg = scheduledMessage({ ...res, duplicatesRemoved: 0, suppressedRemoved: 0 }, (iso) => iso, { count: 4, errors });
    expect(msg).toBe("Estimated finish E. 4 invalid lines skipped (line 10: bad 1; line 20: bad 2; line 30: bad 3; …).");
  });
});
