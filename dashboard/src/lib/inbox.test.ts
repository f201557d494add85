import { describe, expect, it } from "vitest";
import { hasRemoteImages, inboxKeyAction, messageDocument, withRemoteImages } from "./inbox";

describe("inbox helpers", () => {
  it("keeps remote images off until asked", () => {
    const html = '<p>Hi</p><img data-remote-src="https://t.example/p.gif">';
    expect(hasRemoteImages(html)).toBe(true);
    expect(messageDocument(html, false)).toContain("img-src data:;");
    expect(messageDocument(html, false)).not.toContain(' src="https://t.example');
    expect(withRemoteImages(html)).toContain('<img src="https://t.example/p.gif">');
    expect(messageDocument(html, true)).toContain("img-src data: https: http:;");
  });

  it("maps j/k/r/e, not while typing or with modifiers", () => {
    const div = { tagName: "DIV" } as unknown as EventTarget;
    const input = { tagName: "TEXTAREA" } as unknown as EventTarget;
    expect(["j", "k", "r", "e", "x"].map((k) => inboxKeyAction(k, div))).toEqual(["next", "previous", "reply", "done", null]);
    expect(inboxKeyAction("j", input)).toBeNull();
    expect(inboxKeyAction("j", div, true)).toBeNull();
  });
});
