import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { Field } from "./Field";

const attr = (html: string, tag: string, name: string) =>
  new RegExp(`<${tag}[^>]*\\s${name}="([^"]*)"`).exec(html)?.[1];

describe("<Field>", () => {
  it("labels the control and points it at its hint", () => {
    const html = renderToStaticMarkup(
      <Field id="f-delay" label="Delay between emails" hint="In seconds.">
        {(control) => <input {...control} />}
      </Field>,
    );
    expect(attr(html, "label", "for")).toBe("f-delay");
    expect(attr(html, "input", "id")).toBe("f-delay");
    expect(attr(html, "input", "aria-describedby")).toBe("f-delay-hint");
    expect(attr(html, "input", "aria-invalid")).toBeUndefined();
    expect(html).toContain('<p class="hint" id="f-delay-hint">In seconds.</p>');
    expect(html).not.toContain("field-error");
  });

  it("shows the error, marks the control invalid and describes it by the error first", () => {
    const html = renderToStaticMarkup(
      <Field id="f-delay" label="Delay" hint="In seconds." error={["Too long", "really"]} errorTestId="error-delayMs">
        {(control) => <input {...control} />}
      </Field>,
    );
    expect(attr(html, "input", "aria-invalid")).toBe("true");
    expect(attr(html, "input", "aria-describedby")).toBe("f-delay-error f-delay-hint");
    expect(html).toContain('<p class="field-error" id="f-delay-error" data-testid="error-delayMs">Too long really</p>');
  });

  it("treats an empty error list as valid and leaves out a missing hint", () => {
    const html = renderToStaticMarkup(
      <Field id="f" label="Subject" error={[]}>
        {(control) => <input {...control} />}
      </Field>,
    );
    expect(attr(html, "input", "aria-invalid")).toBeUndefined();
    expect(attr(html, "input", "aria-describedby")).toBeUndefined();
    expect(html).toBe('<div class="field"><label for="f">Subject</label><input id="f"/></div>');
  });

  it("puts actions beside the label, extra descriptions on the control and the footer last", () => {
    const html = renderToStaticMarkup(
      <Field
        id="r"
        label="Recipients"
        actions={<button type="button">Upload</button>}
        invalid
        describedBy={["r-summary", null]}
        error={["Add at least one recipient"]}
        footer={<div id="r-summary">3 valid</div>}
      >
        {(control) => <textarea {...control} />}
      </Field>,
    );
    expect(html).toMatch(/^<div class="field"><div class="field-label-row"><label for="r">Recipients<\/label><button/);
    expect(attr(html, "textarea", "aria-describedby")).toBe("r-error r-summary");
    expect(attr(html, "textarea", "aria-invalid")).toBe("true");
    expect(html.indexOf("field-error")).toBeLessThan(html.indexOf('id="r-summary"'));
  });

  it("marks the control invalid for a reason shown elsewhere", () => {
    const html = renderToStaticMarkup(
      <Field id="r" label="Recipients" invalid>
        {(control) => <textarea {...control} />}
      </Field>,
    );
    expect(attr(html, "textarea", "aria-invalid")).toBe("true");
  });
});
