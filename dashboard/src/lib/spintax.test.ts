import { describe, expect, it } from "vitest";
import { hasSpintax, spin } from "./spintax";

describe("spintax in the preview", () => {
  it("uses every option over some seeds, the same for a seed each time", () => {
    const seen = new Set<string>();
    for (let n = 0; n < 30; n++) {
      const once = spin("{Hi|Hello|Hey} there", `r${n}`);
      expect(spin("{Hi|Hello|Hey} there", `r${n}`)).toBe(once);
      seen.add(once);
    }
    expect(seen).toEqual(new Set(["Hi there", "Hello there", "Hey there"]));
  });

  it("nests, keeps escapes, lone braces, Jinja2 tags and <style> as written", () => {
    expect(["Hi friend", "Hi pal", "Yo"]).toContain(spin("{Hi {friend|pal}|Yo}", "s"));
    expect(spin("\\{a\\|b\\} {x} {{ name }} {% if a %}", "s")).toBe("{a|b} {x} {{ name }} {% if a %}");
    expect(spin("<style>p {a|b}</style>", "s")).toBe("<style>p {a|b}</style>");
    expect(hasSpintax("{{ name }} {x}")).toBe(false);
    expect(hasSpintax("{a|b}")).toBe(true);
  });
});
