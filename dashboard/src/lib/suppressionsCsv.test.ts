import { describe, expect, it } from "vitest";
import { parseSuppressionImport, suppressionsToCsv } from "./suppressionsCsv";

describe("suppression import and export", () => {
  it("reads one address per line", () => {
    expect(parseSuppressionImport("ada@x.com\nGrace <grace@x.com>\nada@x.com\nnope\n")).toEqual({
      emails: ["ada@x.com", "grace@x.com"],
      invalid: [{ line: 4, text: "nope" }],
    });
  });

  it("reads the email column of a CSV with a header and a BOM", () => {
    const out = parseSuppressionImport('\ufeffName;E-mail;Note\r\n"Lovelace; Ada";ada@x.com;x\r\nBob;;y\r\n');
    expect(out.emails).toEqual(["ada@x.com"]);
    expect(out.invalid).toEqual([{ line: 3, text: "Bob, , y" }]);
  });

  it("writes a CSV that reads back", () => {
    const csv = suppressionsToCsv([{ email: "a,b@x.com", reason: "manual", createdAt: "2025-01-01T00:00:00Z" }]);
    expect(csv).toBe('email,reason,createdAt\r\n"a,b@x.com",manual,2025-01-01T00:00:00Z');
  });
});
