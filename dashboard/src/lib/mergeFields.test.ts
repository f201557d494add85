import { describe, expect, it } from "vitest";
import { escapeHtml, fieldToken, insertAtCursor, renderPreview, usedFields } from "./mergeFields";

describe("inserting a field at the cursor", () => {
  it("replaces the selection and puts the cursor after the token", () => {
    expect(insertAtCursor("Hi !", 3, 3, fieldToken("name"))).toEqual({ value: "Hi {{ name }}!", cursor: 13 });
    expect(insertAtCursor("Hi XX!", 3, 5, "{{ a }}")).toEqual({ value: "Hi {{ a }}!", cursor: 10 });
  });

  it("appends without a selection and keeps words apart", () => {
    expect(insertAtCursor("Hello", null, null, "{{ a }}")).toEqual({ value: "Hello {{ a }}", cursor: 13 });
    expect(insertAtCursor("ab", 1, 1, "{{ a }}").value).toBe("a {{ a }} b");
    expect(insertAtCursor("", 5, 9, "{{ a }}")).toEqual({ value: "{{ a }}", cursor: 7 });
  });
});

describe("the preview", () => {
  it("fills fields and defaults and escapes values in HTML", () => {
    const out = renderPreview('<p>Hi {{ first_name }}, {{ city | default("there") }}</p>', { first_name: "<b>Ada</b>" }, { html: true });
    expect(out.text).toBe("<p>Hi &lt;b&gt;Ada&lt;/b&gt;, there</p>");
    expect(out.missing).toEqual([]);
  });

  it("keeps the subject plain and lists fields a recipient lacks", () => {
    const out = renderPreview("{{first_name}} & {{ last }} {{ x|default('y') }}", { first_name: "A&B" }, { html: false });
    expect(out.text).toBe("A&B &  y");
    expect(out.missing).toEqual(["last"]);
  });

  it("uses a default only for a missing field, like Jinja2", () => {
    expect(renderPreview('{{ a | default("z") }}', { a: "" }, { html: false }).text).toBe("");
    expect(renderPreview("{{ unsubscribe_url }}", {}, { html: true, unsubscribeUrl: "https://u/1" }).text).toBe("https://u/1");
  });

  it("leaves other template syntax as written", () => {
    expect(renderPreview("{% if a %}x{% endif %} {{ a.b }}", {}, { html: false }).text).toBe("{% if a %}x{% endif %} {{ a.b }}");
    expect(usedFields("{{ a }} {{ b|default('') }} {{ a }}")).toEqual(["a", "b"]);
    expect(escapeHtml(`"'&`)).toBe("&quot;&#39;&amp;");
  });
});
