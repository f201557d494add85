import { describe, expect, it } from "vitest";
import { buildHash, parseHash, sameRoute } from "./useHashRoute";

describe("hash routes", () => {
  it("parses the tab and its parameters", () => {
    const r = parseHash("#/scheduled?batch=abc&page=2");
    expect(r.tab).toBe("scheduled");
    expect(r.params.get("batch")).toBe("abc");
    expect(r.params.get("page")).toBe("2");
  });

  it("knows the senders, suppressions and settings pages", () => {
    expect(parseHash("#/senders").tab).toBe("senders");
    expect(parseHash("#/suppressions?page=2").tab).toBe("suppressions");
    expect(parseHash("#/settings").tab).toBe("settings");
  });

  it("falls back to the overview", () => {
    expect(parseHash("").tab).toBe("overview");
    expect(parseHash("#/nope").tab).toBe("overview");
    expect(parseHash("#main").tab).toBe("overview");
  });

  it("builds hashes without empty parameters", () => {
    expect(buildHash("sent", { batch: "", page: 1, limit: undefined })).toBe("#/sent?page=1");
    expect(buildHash("batches")).toBe("#/batches");
    expect(parseHash(buildHash("scheduled", { batch: "a b&c" })).params.get("batch")).toBe("a b&c");
  });

  it("tells a hash naming the route already shown from a new one", () => {
    const shown = parseHash("#/sent?page=1&limit=50");
    expect(sameRoute(shown, "#/sent?page=1&limit=50")).toBe(true);
    expect(sameRoute(shown, "#/batches?page=1&limit=50")).toBe(false);
    expect(sameRoute(shown, "#/sent?page=2&limit=50")).toBe(false);
  });
});
