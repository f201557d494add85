import { describe, expect, it } from "vitest";
import { scheduledMessage } from "../scheduledMessage";
import { rotationShares } from "./SenderPicker";

describe("rotation", () => {
  it("deals recipients out in turn", () => {
    expect([...rotationShares(5, [{ id: "a" }, { id: "b" }]).entries()]).toEqual([
      ["a", 3],
      ["b", 2],
    ]);
    expect(rotationShares(0, []).size).toBe(0);
  });

  it("says each sender's share after scheduling", () => {
    const msg = scheduledMessage(
      {
        success: true,
        batchId: "b",
        emailCount: 3,
        duplicatesRemoved: 1,
        suppressedRemoved: 2,
        startTime: "s",
        estimatedEndTime: "E",
        senders: [
          { id: "a", email: "a@x.com", emailCount: 2, estimatedEndTime: "E1" },
          { id: "b", email: "b@x.com", emailCount: 1, estimatedEndTime: "E2" },
        ],
      },
      (iso) => `<${iso}>`,
    );
    expect(msg).toBe("Estimated finish <E>. 1 duplicate removed. 2 suppressed addresses left out. a@x.com: 2, done <E1>; b@x.com: 1, done <E2>.");
  });
});
