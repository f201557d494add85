import { describe, expect, it } from "vitest";
import { mapErrorDetails, parseFieldPath } from "./fieldErrors";

describe("mapErrorDetails", () => {
  it("puts each API detail next to the field it names", () => {
    const m = mapErrorDetails(
      [
        { field: "subject", message: "Subject is required" },
        { field: "recipients[1]", message: "Invalid email" },
        { field: "recipients.2", message: "Domain does not exist", value: "z@nowhere.invalid" },
        { field: "startTime", message: "Must include an offset" },
        { field: "sender.email", message: "Invalid sender" },
        { field: "hourlyLimit", message: "Must be at least 1" },
        { field: "somethingElse", message: "Odd" },
        { message: "General failure" },
      ],
      ["a@x.com", "b@bad", "c@x.com"],
    );
    expect(m.fields).toEqual({
      subject: ["Subject is required"],
      startTime: ["Must include an offset"],
      senderEmail: ["Invalid sender"],
      hourlyLimit: ["Must be at least 1"],
    });
    expect(m.recipients).toEqual([
      { index: 1, value: "b@bad", message: "Invalid email" },
      { index: 2, value: "z@nowhere.invalid", message: "Domain does not exist" },
    ]);
    expect(m.general).toEqual(["somethingElse: Odd", "General failure"]);
  });

  it("understands prefixed and dotted paths", () => {
    expect(parseFieldPath("body.recipients.4")).toEqual({ base: "recipients", index: 4 });
    expect(parseFieldPath("body")).toEqual({ base: "body", index: null });
    expect(mapErrorDetails([{ field: "body", message: "Empty" }]).fields).toEqual({ body: ["Empty"] });
    expect(mapErrorDetails([{ field: "recipients", message: "Too many" }]).fields).toEqual({ recipients: ["Too many"] });
  });
});
