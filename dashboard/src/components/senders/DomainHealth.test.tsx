import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { SenderDns } from "../../api/types";
import { DomainHealthReport } from "./DomainHealth";

const lax: SenderDns = {
  domain: "lax.test",
  checkedAt: "2026-12-07T10:00:00Z",
  verdict: "warn",
  spf: { record: "v=spf1 a mx +all", ok: false, detail: "ends in +all: any server may send as this domain" },
  dkim: { selectors: ["s1"], ok: true },
  dmarc: { record: "v=DMARC1; p=none", policy: "none", ok: true, alignment: { dkim: "r", spf: "r" } },
  mx: { hosts: ["mx.lax.test"], ok: true },
  advice: ["Fix the SPF record on lax.test", "Your DMARC policy is p=none"],
};

describe("<DomainHealthReport>", () => {
  it("shows the verdict, each record and the advice", () => {
    const html = renderToStaticMarkup(<DomainHealthReport dns={lax} />);
    expect(html).toContain('data-verdict="warn"');
    expect(html).toContain("Domain: check advice: lax.test");
    expect(html).toContain("2 things to fix");
    expect(html).toContain('data-record="SPF" data-ok="false"');
    expect(html).toContain('data-record="DKIM" data-ok="true"');
    expect(html.match(/data-testid="sender-dns-advice"/g)).toHaveLength(2);
    expect(html).toContain("callout-warning");
  });
});
