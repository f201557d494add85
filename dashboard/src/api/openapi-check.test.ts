/**
 * Checks the typed client's routes against `dashboard/openapi.snapshot.json`,
 * a copy of the server's `/openapi.json` (refresh it with `npm run openapi:snapshot`
 * while `emailsched api` runs). Skipped when the snapshot is absent.
 */
import { describe, expect, it } from "vitest";
import { API_OPERATIONS, API_QUERY_PARAMS, AWAITING_SNAPSHOT, type OperationName } from "./operations";

interface OpenApiParam {
  name?: string;
  in?: string;
}
interface OpenApiOperation {
  parameters?: OpenApiParam[];
}
interface OpenApiDoc {
  paths?: Record<string, Record<string, OpenApiOperation> & { parameters?: OpenApiParam[] }>;
}

const found = import.meta.glob<OpenApiDoc>("../../openapi.snapshot.json", { eager: true, import: "default" });
const snapshot: OpenApiDoc | undefined = Object.values(found)[0];

/** `/batches/{batch_id}/pause` and `/batches/{id}/pause` are the same route. */
const normalize = (p: string) => p.replace(/\{[^}]+\}/g, "{}").replace(/\/+$/, "") || "/";

describe.skipIf(!snapshot)("typed client vs openapi.snapshot.json", () => {
  const paths = snapshot?.paths ?? {};
  const byNormal = new Map(Object.entries(paths).map(([p, item]) => [normalize(p), item]));

  const awaiting = new Set<string>(AWAITING_SNAPSHOT);
  const checked = Object.entries(API_OPERATIONS).filter(([name]) => !awaiting.has(name));
  const hasRoute = (op: { method: string; path: string }) =>
    Object.keys(byNormal.get(normalize(op.path)) ?? {})
      .map((m) => m.toLowerCase())
      .includes(op.method);

  it.each(checked)("%s is a route of the API", (_name, op) => {
    const item = byNormal.get(normalize(op.path));
    expect(item, `${op.path} missing from openapi.snapshot.json`).toBeDefined();
    expect(Object.keys(item ?? {}).map((m) => m.toLowerCase()), `${op.method.toUpperCase()} ${op.path}`).toContain(op.method);
  });

  // Listed, not skipped: each SPEC.md route the snapshot lacks is a test of its own, and it
  // fails once the snapshot has the route, so AWAITING_SNAPSHOT is emptied then.
  it.each(AWAITING_SNAPSHOT.map((name) => [name, API_OPERATIONS[name]] as const))(
    "%s (SPEC.md) awaits openapi.snapshot.json: remove it from AWAITING_SNAPSHOT once the snapshot has it",
    (name, op) => {
      expect(hasRoute(op), `${op.method.toUpperCase()} ${op.path} is in the snapshot now: drop ${name} from AWAITING_SNAPSHOT`).toBe(false);
    },
  );

  it.each(Object.entries(API_QUERY_PARAMS).filter(([name]) => !awaiting.has(name)))("%s query parameters are documented", (name, params) => {
    const op = API_OPERATIONS[name as OperationName];
    const item = byNormal.get(normalize(op.path));
    const declared = [...(item?.parameters ?? []), ...(item?.[op.method]?.parameters ?? [])]
      .filter((p) => p.in === "query")
      .map((p) => p.name);
    // Only checked when the snapshot declares query parameters at all.
    if (declared.length === 0) return;
    for (const p of params ?? []) expect(declared, `${op.path}?${p}`).toContain(p);
  });
});

describe("openapi snapshot", () => {
  it(snapshot ? "is present and has paths" : "is absent: the route check above is skipped", () => {
    if (snapshot) expect(Object.keys(snapshot.paths ?? {}).length).toBeGreaterThan(0);
  });
});
