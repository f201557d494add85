import { describe, expect, it } from "vitest";
import { fieldKey, parseCsvTable, recipientEmail, withFields } from "./csvFields";
import { parseRecipients } from "./recipients";

const fieldsOf = (text: string) => {
  const table = parseCsvTable(text);
  return { table, recipients: withFields(parseRecipients(text).valid, table) };
};

describe("CSV with merge fields", () => {
  it("keeps every column but the address, as template names", () => {
    const { table, recipients } = fieldsOf("Email,First Name,Company\nada@x.com,Ada,Analytical\ngrace@x.com,Grace,Navy\n");
    expect(table.emailHeader).toBe("Email");
    expect(table.columns).toEqual([
      { header: "First Name", key: "first_name" },
      { header: "Company", key: "company" },
    ]);
    expect(recipients).toEqual([
      { email: "ada@x.com", fields: { first_name: "Ada", company: "Analytical" } },
      { email: "grace@x.com", fields: { first_name: "Grace", company: "Navy" } },
    ]);
  });

  it("reads quoted commas, newlines in quotes, a BOM and doubled quotes", () => {
    const text = '\ufeffemail,name,note\r\nada@x.com,"Lovelace, Ada","line 1\nline 2"\r\nbob@x.com,"Bob ""B"" Smith",\r\n';
    const { recipients } = fieldsOf(text);
    expect(recipients).toEqual([
      { email: "ada@x.com", fields: { name: "Lovelace, Ada", note: "line 1\nline 2" } },
      { email: "bob@x.com", fields: { name: 'Bob "B" Smith' } },
    ]);
  });

  it("detects ; and tab separators (Excel exports in many locales)", () => {
    expect(fieldsOf("E-mail;Vorname\nada@x.com;Ada\n").recipients).toEqual([{ email: "ada@x.com", fields: { vorname: "Ada" } }]);
    expect(fieldsOf("email\tcity\nada@x.com\tLondon\n").recipients).toEqual([{ email: "ada@x.com", fields: { city: "London" } }]);
  });

  it("leaves plain lists as addresses and keeps the first row of a duplicate", () => {
    expect(fieldsOf("ada@x.com\ngrace@x.com").recipients).toEqual(["ada@x.com", "grace@x.com"]);
    const { recipients } = fieldsOf("email,name\nada@x.com,Ada\nADA@x.com,Other\n");
    expect(recipients).toEqual([{ email: "ada@x.com", fields: { name: "Ada" } }]);
  });

  it("makes names usable in templates and unique", () => {
    expect(fieldKey(" Prénom ")).toBe("prenom");
    expect(fieldKey("2nd line")).toBe("f_2nd_line");
    expect(fieldKey("!!!")).toBe("field");
    const { table } = fieldsOf("email,Name,name,Email Address 2\nada@x.com,a,b,c\n");
    expect(table.columns.map((c) => c.key)).toEqual(["name", "name_2", "email_address_2"]);
    expect(recipientEmail({ email: "a@x.com", fields: {} })).toBe("a@x.com");
  });
});
