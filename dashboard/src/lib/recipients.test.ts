import { describe, expect, it } from "vitest";
import { detectDelimiter, extractCandidates, parseCsv, parseRecipients } from "./recipients";
import { isValidEmail } from "./email";

describe("isValidEmail", () => {
  it.each(["a@b.co", "first.last+tag@sub.example.com", "x_y@example.io", "O'Brien@example.ie"])("accepts %s", (e) =>
    expect(isValidEmail(e)).toBe(true),
  );
  it.each(["", "plain", "@example.com", "a@", "a@b", "a@@b.com", "a b@c.com", "a@-b.com", "a..b@c.com", ".a@c.com", "a@c.1"])(
    "rejects %s",
    (e) => expect(isValidEmail(e)).toBe(false),
  );
});

describe("parseCsv", () => {
  it("handles quotes, escaped quotes, delimiters and newlines inside quotes", () => {
    const rows = parseCsv('name,email\n"Doe, Jane","jane@x.com"\n"Say ""hi""\nthere",bob@x.com\r\nlast,z@x.com');
    expect(rows.map((r) => r.cells)).toEqual([
      ["name", "email"],
      ["Doe, Jane", "jane@x.com"],
      ['Say "hi"\nthere', "bob@x.com"],
      ["last", "z@x.com"],
    ]);
    expect(rows.map((r) => r.line)).toEqual([1, 2, 3, 5]);
  });

  it("strips a BOM and skips blank lines", () => {
    const rows = parseCsv("\uFEFFemail\n\n  \na@x.com\n");
    expect(rows.map((r) => r.cells)).toEqual([["email"], ["a@x.com"]]);
  });

  it("detects semicolons and tabs", () => {
    expect(detectDelimiter("name;email\nA;a@x.com")).toBe(";");
    expect(detectDelimiter("name\temail\nA\ta@x.com")).toBe("\t");
    expect(detectDelimiter("a@x.com\nb@x.com")).toBe(",");
  });
});

describe("extractCandidates", () => {
  it("reads display-name forms, mailto and several per cell", () => {
    expect(extractCandidates('"Jane Doe" <jane@x.com>')).toEqual(["jane@x.com"]);
    expect(extractCandidates("mailto:bob@x.com")).toEqual(["bob@x.com"]);
    expect(extractCandidates("a@x.com b@x.com;c@x.com")).toEqual(["a@x.com", "b@x.com", "c@x.com"]);
    expect(extractCandidates("   ")).toEqual([]);
  });
});

describe("parseRecipients", () => {
  it("reads one address per line, removing duplicates case-insensitively", () => {
    const r = parseRecipients("a@x.com\nB@x.com\nA@X.COM\n\nc@x.com\nb@x.com");
    expect(r.valid).toEqual(["a@x.com", "B@x.com", "c@x.com"]);
    expect(r.duplicates).toEqual([
      { line: 3, email: "A@X.COM", firstLine: 1 },
      { line: 6, email: "b@x.com", firstLine: 2 },
    ]);
    expect(r.invalid).toEqual([]);
    expect(r.header).toBeNull();
  });

  it("splits pasted lists on commas, semicolons and spaces", () => {
    const r = parseRecipients("a@x.com, b@x.com; c@x.com d@x.com");
    expect(r.valid).toEqual(["a@x.com", "b@x.com", "c@x.com", "d@x.com"]);
  });

  it("reports invalid lines with their line numbers", () => {
    const r = parseRecipients("good@x.com\nnot-an-email\nbad@\n@nope.com\nalso good <ok@y.org>");
    expect(r.valid).toEqual(["good@x.com", "ok@y.org"]);
    expect(r.invalid.map((i) => [i.line, i.text])).toEqual([
      [2, "not-an-email"],
      [3, "bad@"],
      [4, "@nope.com"],
    ]);
    expect(r.invalid[0].reason).toMatch(/no email/i);
    expect(r.invalid[1].reason).toMatch(/not a valid/i);
  });

  it("uses the email column of a CSV with a header", () => {
    const csv = [
      "First name,Last name,Email,Manager email",
      "Ada,Lovelace,ada@example.com,boss@example.com",
      '"Hopper, Grace",,grace@example.com,boss@example.com',
      "Alan,Turing,,boss@example.com",
      "Ada,Again,ADA@example.com,boss@example.com",
      "Bad,Row,not-valid,boss@example.com",
    ].join("\r\n");
    const r = parseRecipients(csv);
    expect(r.header).toEqual(["First name", "Last name", "Email", "Manager email"]);
    expect(r.emailColumn).toBe(2);
    expect(r.valid).toEqual(["ada@example.com", "grace@example.com"]);
    expect(r.duplicates).toHaveLength(1);
    expect(r.duplicates[0]).toMatchObject({ line: 5, firstLine: 2 });
    expect(r.invalid.map((i) => i.line)).toEqual([4, 6]);
    expect(r.invalid[0].reason).toMatch(/email column/i);
  });

  it("takes any cell with an @ when the CSV has no email header", () => {
    const r = parseRecipients("Ada;ada@example.com;London\nGrace;grace@example.com;NYC\nAlan;;Bletchley");
    expect(r.valid).toEqual(["ada@example.com", "grace@example.com"]);
    expect(r.invalid).toEqual([{ line: 3, text: "Alan, , Bletchley", reason: "No email address found" }]);
  });

  it("treats a single non-address first line as invalid unless it names an email column", () => {
    expect(parseRecipients("hello\na@x.com").invalid).toHaveLength(1);
    const withHeader = parseRecipients("email\na@x.com");
    expect(withHeader.invalid).toHaveLength(0);
    expect(withHeader.header).toEqual(["email"]);
  });

  it("skips comment lines and copes with empty input", () => {
    expect(parseRecipients("# my list\na@x.com").valid).toEqual(["a@x.com"]);
    const empty = parseRecipients("  \n\n");
    expect(empty).toMatchObject({ valid: [], duplicates: [], invalid: [] });
  });

  it("handles large lists quickly and keeps order", () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `user${i % 15_000}@example.com`);
    const t0 = performance.now();
    const r = parseRecipients(lines.join("\n"));
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(r.valid).toHaveLength(15_000);
    expect(r.duplicates).toHaveLength(5_000);
    expect(r.valid[0]).toBe("user0@example.com");
    expect(r.valid[14_999]).toBe("user14999@example.com");
  });
});
