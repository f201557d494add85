import { describe, expect, it } from "vitest";
import { countOf } from "./plural";

describe("countOf", () => {
  it("uses the singular for one and the plural otherwise", () => {
    expect(countOf(1, "line", "lines")).toBe("1 line");
    expect(countOf(0, "line", "lines")).toBe("0 lines");
    expect(countOf(1200, "address", "addresses")).toBe("1,200 addresses");
  });
});
