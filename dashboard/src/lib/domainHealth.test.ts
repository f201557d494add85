import { describe, expect, it } from "vitest";
import type { SenderDns } from "../api/types";
import { pickerWarning, recordLines, VERDICT_LABELS } from "./domainHealth";

const bare: SenderDns = {
  domain: "bare.test",
  checkedAt: "2026-12-07T00:00:00Z",
  verdict: "fail",
  spf: { record: null, ok: false, detail: "no SPF record" },
  dkim: { selectors: [], ok: false },
  dmarc: { record: null, policy: null, ok: false, alignment: { dkim: "r", spf: "r" } },
  mx: { hosts: ["mx.bare.test"], ok: true },
  advice: ['Add an SPF record: a TXT record on bare.test with "v=spf1 mx ~all"'],
};

describe("domain health in words", () => {
  it("says what each record lacks", () => {
    expect(recordLines(bare).map((l) => [l.name, l.ok, l.text])).toEqual([
      ["SPF", false, "no SPF record"],
      ["DKIM", false, "no key under the selectors tried"],
      ["DMARC", false, "no record at _dmarc"],
      ["MX", true, "mx.bare.test"],
    ]);
  });

  it("counts p=none as not ok and shows the alignment", () => {
    const lax = { ...bare, dmarc: { record: "v=DMARC1; p=none", policy: "none", ok: true, alignment: { dkim: "s", spf: "r" } } };
    const dmarc = recordLines(lax).find((l) => l.name === "DMARC");
    expect(dmarc).toEqual({ name: "DMARC", ok: false, text: "p=none · alignment dkim=s spf=r" });
  });

  it("warns in the picker only for a failing domain", () => {
    expect(pickerWarning("fail")).toMatch(/SPF, DKIM or DMARC/);
    expect(pickerWarning("warn")).toBeNull();
    expect(pickerWarning(undefined)).toBeNull();
    expect(VERDICT_LABELS.ok).toBe("Domain OK");
  });
});
