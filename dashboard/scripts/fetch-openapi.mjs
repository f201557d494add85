#!/usr/bin/env node
// Saves the running API's /openapi.json as openapi.snapshot.json, which
// src/api/openapi-check.test.ts checks the typed client against.
//   npm run openapi:snapshot -- [http://127.0.0.1:8000]
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const base = (process.argv[2] || process.env.EMAILSCHED_API || "http://127.0.0.1:8000").replace(/\/+$/, "");
const res = await fetch(`${base}/openapi.json`);
if (!res.ok) {
  console.error(`GET ${base}/openapi.json → ${res.status}`);
  process.exit(1);
}
const doc = await res.json();
const out = fileURLToPath(new URL("../openapi.snapshot.json", import.meta.url));
await writeFile(out, JSON.stringify(doc, null, 2) + "\n");
console.log(`wrote ${out} (${Object.keys(doc.paths ?? {}).length} paths)`);
