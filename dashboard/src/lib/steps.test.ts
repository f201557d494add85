import { describe, expect, it } from "vitest";
import { followUpSubject, formatWait, secondsToWait, serverSteps, stepProgress, toSequenceSteps, validateStep, waitToSeconds } from "./steps";

describe("follow-up steps", () => {
  it("converts waits in days or hours to seconds and back", () => {
    expect(waitToSeconds("3", "days")).toBe(259_200);
    expect(waitToSeconds("1.5", "hours")).toBe(5_400);
    expect(waitToSeconds("0", "hours")).toBeNull();
    expect(waitToSeconds("", "days")).toBeNull();
    expect(secondsToWait(172_800)).toEqual({ wait: "2", unit: "days" });
    expect(secondsToWait(5_400)).toEqual({ wait: "1.5", unit: "hours" });
    expect(formatWait(86_400)).toBe("1 day");
    expect(formatWait(7_200)).toBe("2 hours");
  });

  it("leaves a blank subject to the server's Re: and checks body and wait", () => {
    expect(followUpSubject(" Spring sale ")).toBe("Re: Spring sale");
    expect(followUpSubject("RE: x")).toBe("RE: x");
    expect(toSequenceSteps([{ subject: " ", body: "b", wait: "2", unit: "days" }])).toEqual([{ body: "b", waitSeconds: 172_800 }]);
    expect(toSequenceSteps([{ subject: "New", body: "b", wait: "4", unit: "hours" }])[0].subject).toBe("New");
    expect(validateStep({ subject: "", body: " ", wait: "-1", unit: "days" })).toEqual({
      body: "Write the follow-up",
      wait: "Wait a positive number of days or hours",
    });
  });

  it("counts sent, pending and stopped per step, and who replied", () => {
    const p = stepProgress(
      [
        { status: "sent", recipientEmail: "a@x" },
        { step: 1, status: "sent", recipientEmail: "b@x" },
        { step: 2, status: "scheduled", recipientEmail: "a@x" },
        { step: 2, status: "replied", recipientEmail: "b@x" },
        { step: 2, status: "held", recipientEmail: "c@x" },
      ],
      3,
    );
    expect(p.map(({ step, sent, pending, stopped }) => [step, sent, pending, stopped])).toEqual([
      [1, 2, 0, 0],
      [2, 0, 2, 1],
      [3, 0, 0, 0],
    ]);
    expect(p[1].repliedBy).toEqual(["b@x"]);
  });

  it("reads the server's per-step counts only when they look right", () => {
    expect(serverSteps(undefined)).toBeNull();
    expect(serverSteps([{ nope: 1 }])).toBeNull();
    expect(serverSteps([{ step: 1, sent: "2" }])).toEqual([{ step: 1, sent: 2, pending: 0, stopped: 0 }]);
  });
});
